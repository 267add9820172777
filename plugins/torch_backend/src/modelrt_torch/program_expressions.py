"""The two kinds of text in an exported program that torch runs as Python, checked against what torch writes.

torch 2.13 rebuilds every symbolic size of a ``.pt2`` from text: ``sympy.sympify`` parses each
``expr_str`` with Python's ``eval``, every builtin in scope (``__import__`` included).
``ExportedProgram.module()`` compiles the program's ``guards_code`` into a function with ``exec`` and
runs it on every call. A crafted archive can therefore hide any Python in either place, no pickle needed.

torch writes only arithmetic there: sympy constructors over size symbols (``Mul(Integer(2),
Symbol('s0', positive=True, integer=True))``) and comparisons of input sizes (``L['x'].size()[0] <= 64``).
Each text is parsed with ``ast`` and accepted only when every node is one of those; anything else
(attribute access, other names, lambdas, string tricks) is refused before torch sees it.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable

__all__ = ["is_torch_guard", "is_torch_shape_expression"]

_OPERATORS = (
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.FloorDiv,
    ast.Mod,
    ast.Pow,
    ast.LShift,
    ast.RShift,
    ast.BitAnd,
    ast.BitOr,
    ast.BitXor,
    ast.UAdd,
    ast.USub,
    ast.Not,
    ast.Invert,
    ast.And,
    ast.Or,
    ast.Eq,
    ast.NotEq,
    ast.Lt,
    ast.LtE,
    ast.Gt,
    ast.GtE,
)

#: sympy's constructors as ``srepr`` writes them, and torch's own sympy functions
#: (torch/utils/_sympy/functions.py): pure arithmetic, whatever their arguments.
_SYMPY_FUNCTIONS = frozenset(
    {
        "Symbol",
        "Integer",
        "Rational",
        "Float",
        "Add",
        "Mul",
        "Pow",
        "Mod",
        "Max",
        "Min",
        "Abs",
        "floor",
        "ceiling",
        "sqrt",
        "Equality",
        "Unequality",
        "StrictLessThan",
        "LessThan",
        "StrictGreaterThan",
        "GreaterThan",
        "Eq",
        "Ne",
        "Lt",
        "Le",
        "Gt",
        "Ge",
        "And",
        "Or",
        "Not",
        "Piecewise",
        "ExprCondPair",
        "FloorDiv",
        "ModularIndexing",
        "Where",
        "PythonMod",
        "CleanDiv",
        "CeilToInt",
        "FloorToInt",
        "CeilDiv",
        "LShift",
        "RShift",
        "PowByNatural",
        "FloatPow",
        "FloatTrueDiv",
        "IntTrueDiv",
        "IsNonOverlappingAndDenseIndicator",
        "TruncToFloat",
        "TruncToInt",
        "RoundToInt",
        "RoundDecimal",
        "ToFloat",
        "Identity",
    }
)
_SYMPY_FUNCTION_FAMILIES = re.compile(r"(?:OpaqueUnaryFn|BitwiseFn)_[a-z0-9_]+")
_SYMPY_CONSTANTS = frozenset({"oo", "zoo", "nan", "true", "false", "pi", "E"})
#: torch's size symbols (torch/utils/_sympy/symbol.py ``prefix_str``) followed by their number.
_SIZE_SYMBOL = re.compile(r"(?:s|ps|u|zf|zuf|tmp|i|idx|x|y|z|h|r0_|r1_|indirect|view)\d+")
#: Strings a shape expression may hold: symbol names and decimal numbers (``Float('1.0', precision=53)``).
_PLAIN_STRING = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")

#: What torch's PythonPrinter (torch/utils/_sympy/printers.py) writes into guards.
_GUARD_FUNCTIONS = frozenset({"max", "min", "abs", "round", "IsNonOverlappingAndDenseIndicator"})
_MATH_FUNCTIONS = frozenset(
    {"floor", "ceil", "trunc", "sqrt", "exp", "log", "log2", "cos", "cosh", "acos", "sin", "sinh", "asin"}
    | {"tan", "tanh", "atan"}
)
_MATH_CONSTANTS = frozenset({"inf", "nan", "pi", "e"})
_TORCH_FUNCTIONS = frozenset({"sym_float", "sym_int", "sym_max", "sym_min", "sym_not", "sym_ite", "_sym_sqrt"})
_TENSOR_METHODS = frozenset({"size", "stride", "storage_offset", "dim", "numel"})
#: Keys of an input path, ``L['x']`` or ``L['args'][0]``: nothing that could close a quote in torch's ``exec``.
_INPUT_KEY = re.compile(r"[A-Za-z0-9_]+")


def _parsed(text: object) -> ast.AST | None:
    """The expression ``text`` holds; None unless it is one line of ASCII without comments or escapes.

    torch pastes guards into generated source (``torch._assert({guard}, "Guard failed: ...")``), where a
    comment, a line break or a backslash could change what the surrounding code means.
    """
    if not isinstance(text, str) or not text.isascii() or any(character in text for character in "#\\\n\r"):
        return None
    try:
        return ast.parse(text, mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def is_torch_shape_expression(text: object) -> bool:
    """Whether ``text`` is sympy arithmetic over size symbols, the only thing torch writes as ``expr_str``."""
    node = _parsed(text)
    return node is not None and _shape_node(node)


def is_torch_guard(text: object) -> bool:
    """Whether ``text`` is arithmetic on input sizes, the only thing torch writes into ``guards_code``."""
    node = _parsed(text)
    return node is not None and _guard_node(node)


def _operators_and_operands(node: ast.AST, operand: Callable[[ast.AST], bool]) -> bool | None:
    """The verdict for an operator node, its operands checked by ``operand``; None for any other node."""
    if isinstance(node, ast.BinOp):
        return isinstance(node.op, _OPERATORS) and operand(node.left) and operand(node.right)
    if isinstance(node, ast.UnaryOp):
        return isinstance(node.op, _OPERATORS) and operand(node.operand)
    if isinstance(node, ast.BoolOp):
        return isinstance(node.op, _OPERATORS) and all(operand(value) for value in node.values)
    if isinstance(node, ast.Compare):
        operands = [node.left, *node.comparators]
        return all(isinstance(op, _OPERATORS) for op in node.ops) and all(operand(value) for value in operands)
    return None


# ------------------------------------------------------------------------------------- shape expressions


def _shape_node(node: ast.AST) -> bool:
    verdict = _operators_and_operands(node, _shape_node)
    if verdict is not None:
        return verdict
    if isinstance(node, ast.Constant):
        return isinstance(node.value, bool | int | float) or (
            isinstance(node.value, str) and _PLAIN_STRING.fullmatch(node.value) is not None
        )
    if isinstance(node, ast.Name):
        return node.id in _SYMPY_CONSTANTS or _SIZE_SYMBOL.fullmatch(node.id) is not None
    if isinstance(node, ast.Call):
        function = node.func
        known = isinstance(function, ast.Name) and (
            function.id in _SYMPY_FUNCTIONS or _SYMPY_FUNCTION_FAMILIES.fullmatch(function.id) is not None
        )
        return (
            known
            and all(_shape_node(argument) for argument in node.args)
            and all(
                keyword.arg is not None
                and isinstance(keyword.value, ast.Constant)
                and isinstance(keyword.value.value, bool | int)
                for keyword in node.keywords
            )
        )
    return False


# ------------------------------------------------------------------------------------- guards


def _guard_node(node: ast.AST) -> bool:
    verdict = _operators_and_operands(node, _guard_node)
    if verdict is not None:
        return verdict
    if isinstance(node, ast.Constant):
        return isinstance(node.value, bool | int | float)
    if isinstance(node, ast.Attribute):
        return _is_module_member(node, "math", _MATH_CONSTANTS)
    if isinstance(node, ast.Subscript):
        return _is_input(node) or (_is_tensor_method_call(node.value) and _is_int(node.slice))
    if isinstance(node, ast.Call):
        return not node.keywords and all(_guard_node(argument) for argument in node.args) and _is_guard_callee(node)
    return False


def _is_guard_callee(call: ast.Call) -> bool:
    function = call.func
    if isinstance(function, ast.Name):
        return function.id in _GUARD_FUNCTIONS
    return (
        _is_module_member(function, "math", _MATH_FUNCTIONS)
        or _is_module_member(function, "torch", _TORCH_FUNCTIONS)
        or _is_tensor_method_call(call)
    )


def _is_module_member(node: ast.AST, module: str, members: frozenset[str]) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == module
        and node.attr in members
    )


def _is_tensor_method_call(node: ast.AST) -> bool:
    """``L['x'].size()``, ``L['x'].stride(1)``: a size query on an input, with integer arguments only."""
    return (
        isinstance(node, ast.Call)
        and not node.keywords
        and all(_is_int(argument) for argument in node.args)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in _TENSOR_METHODS
        and _is_input(node.func.value)
    )


def _is_input(node: ast.AST) -> bool:
    """``L['x']``, ``L['args'][0]``: an input of the program, as guards name them."""
    if not isinstance(node, ast.Subscript):
        return False
    while isinstance(node, ast.Subscript):
        key = node.slice
        named = isinstance(key, ast.Constant) and isinstance(key.value, str) and _INPUT_KEY.fullmatch(key.value)
        if not (_is_int(key) or named):
            return False
        node = node.value
    return isinstance(node, ast.Name) and node.id == "L"


def _is_int(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) is int
