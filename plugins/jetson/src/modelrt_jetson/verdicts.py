"""The Jetson rows of the compatibility matrix: one verdict per Jetson, plus what stands in its way.

Rows (``modelrt.hardware_matrix``): JetPack 6.1 in a container is stable, on bare metal
experimental; JetPack 5.1.x (L4T 35.2.1 to 35.6.x) in a container is stable with a custom image, on
bare metal not possible. Every other JetPack is recognised and reported outside the verified matrix
(row ``jetson-outside-matrix``); an L4T this plugin cannot read or does not know is
``jetson-unknown``. Besides the row: a TensorRT wheel from PyPI (``jetson-tensorrt``, an error with
the exact fix), JetPack's TensorRT bindings built for another Python than the running one (live
hosts only), and a ``MODELRT_L4T_VERSION`` that could not be applied (``jetson-l4t-override``).

Install advice: ``modelrt[jetson]`` from PyPI, and the GPU runtimes from the Jetson wheel index
computed from the detected JetPack and CUDA. Nothing is installed, only advised.
"""

from __future__ import annotations

from modelrt.compatibility import JETSON_FACTS_KEY
from modelrt.docker_images import JETSON_JP5_IMAGE, JETSON_JP6_IMAGE
from modelrt.errors import InputError
from modelrt.hardware_matrix import matrix_status
from modelrt.host_environment import Environment
from modelrt.specs import Finding, Severity, Status
from modelrt_jetson.container import l4t_jetpack_image
from modelrt_jetson.facts import JetsonFacts
from modelrt_jetson.l4t import L4TVersion, is_jetpack_51, is_jetpack_61
from modelrt_jetson.libraries import LIBRARY_DIR
from modelrt_jetson.module import SOC_FAMILY
from modelrt_jetson.probe import L4T_OVERRIDE_VARIABLE
from modelrt_jetson.wheels import JETSON_WHEELS

__all__ = [
    "JETSON_EXTRA",
    "JETSON_OUTSIDE_MATRIX_ROW",
    "JETSON_OVERRIDE_ROW",
    "JETSON_TENSORRT_ROW",
    "JETSON_UNKNOWN_ROW",
    "jetson_findings",
]

JETSON_EXTRA = "modelrt[jetson]"
JETSON_OUTSIDE_MATRIX_ROW = "jetson-outside-matrix"
JETSON_UNKNOWN_ROW = "jetson-unknown"
JETSON_TENSORRT_ROW = "jetson-tensorrt"
JETSON_OVERRIDE_ROW = "jetson-l4t-override"

_PYTHON_FLOOR = "Python 3.10"


def jetson_findings(env: Environment) -> list[Finding]:
    """The Jetson verdicts on ``env``; none when the jetson plugin contributed no facts."""
    if JETSON_FACTS_KEY not in env.facts:
        return []
    try:
        facts = JetsonFacts.from_dict(env.facts[JETSON_FACTS_KEY])
    except InputError as error:
        return [
            Finding(
                JETSON_UNKNOWN_ROW,
                Status.UNKNOWN,
                Severity.WARNING,
                f"The Jetson facts of this environment record cannot be read: {error}",
                fix="run `modelrt env` on the board again",
            )
        ]
    if not facts.is_jetson:
        return [_override_on_another_host(facts)] if facts.l4t_override is not None else []
    row = _row_verdict(facts, env)
    findings = [row, *_override_problems(facts)]
    if facts.tensorrt_wheels:
        findings.append(_tensorrt_wheels(facts))
    elif row.status is not Status.NOT_POSSIBLE:
        findings.extend(_bindings_for_another_python(facts, env))
    return findings


# ---------------------------------------------------------------------------------------------- rows


def _row_verdict(facts: JetsonFacts, env: Environment) -> Finding:
    l4t = L4TVersion.parse(facts.l4t) if facts.l4t else None
    if l4t is None:
        return _unknown_l4t(facts)
    if facts.jetpack_major is None:
        return _unknown_release(facts, l4t)
    board, release, where = _board_words(facts), _release_words(facts), _where_words(facts, env)
    in_container = where != "bare metal"
    stack = _stack_words(facts)
    if is_jetpack_61(l4t):
        if in_container:
            return _finding(
                facts,
                "jetson-jp61-docker",
                matrix_status("jetson-jp61-docker"),
                Severity.INFO,
                f"{board} on {release}, {where}: stable. {stack}",
            )
        return _finding(
            facts,
            "jetson-jp61-bare-metal",
            matrix_status("jetson-jp61-bare-metal"),
            Severity.WARNING,
            f"{board} on {release}, bare metal: experimental. JetPack 6.1 is verified in Docker; directly on the "
            f"board it is expected to work, but is not verified. {stack}",
            fix=f"for the verified setup, run modelrt in a container: {JETSON_JP6_IMAGE.dockerfile} in a modelrt clone "
            f"builds one FROM {l4t_jetpack_image(l4t)} (`{JETSON_JP6_IMAGE.build_command}` in the clone's root, "
            f"then `{JETSON_JP6_IMAGE.run_command}`)",
        )
    if is_jetpack_51(l4t):
        return _jetpack_51(facts, l4t, board, release, where, stack)
    if facts.jetpack_major in (6, 7):
        return _newer_outside_matrix(facts, l4t, board, release, where, stack)
    return _older_outside_matrix(facts, board, release, where)


def _jetpack_51(facts: JetsonFacts, l4t: L4TVersion, board: str, release: str, where: str, stack: str) -> Finding:
    python_gap = (
        f"JetPack 5.1 ships Ubuntu 20.04 with Python 3.8; its TensorRT Python bindings{_bindings_where(facts)} and "
        f"the Jetson GPU builds of onnxruntime and torch are built for Python 3.8, and modelrt needs "
        f"{_PYTHON_FLOOR} or newer"
    )
    if where != "bare metal":
        return Finding(
            "jetson-jp51-docker",
            matrix_status("jetson-jp51-docker"),
            Severity.INFO,
            f"{board} on {release}, {where}: stable with a custom image. {python_gap}, so the image must bring "
            f"{_PYTHON_FLOOR} and a GPU build of onnxruntime for it. {stack}",
            install=(JETSON_EXTRA,),
        )
    return Finding(
        "jetson-jp51-bare-metal",
        matrix_status("jetson-jp51-bare-metal"),
        Severity.ERROR,
        f"{board} on {release}, bare metal: not possible. {python_gap}, so no GPU runtime can be loaded on the "
        "board itself.",
        fix=(
            f"take the Docker route: build an image FROM {l4t_jetpack_image(l4t)} (R35 images run on any R35 host) "
            f"that adds {_PYTHON_FLOOR} and a GPU build of onnxruntime for it: {JETSON_JP5_IMAGE.dockerfile} in a "
            f"modelrt clone is that image (`{JETSON_JP5_IMAGE.build_command}` in the clone's root, then "
            f"`{JETSON_JP5_IMAGE.run_command}`); or flash JetPack 6.1, where modelrt runs on the board"
        ),
    )


def _newer_outside_matrix(
    facts: JetsonFacts, l4t: L4TVersion, board: str, release: str, where: str, stack: str
) -> Finding:
    if facts.jetpack_major == 7:
        context = "JetPack 7 (Jetson Thor) is newer than the verified matrix: recognised and expected to work"
        fix = "check that a model gets the GPU with `modelrt explain MODEL`"
    else:
        context = (
            "on JetPack 6 only JetPack 6.1 (L4T 36.4.0 / 36.4.2) is verified; this release is expected to work like it"
        )
        image = l4t_jetpack_image(L4TVersion(36, 4, 0))
        fix = (
            f"check that a model gets the GPU with `modelrt explain MODEL`; the verified setup is JetPack 6.1 "
            f"in {image}"
        )
    return _finding(
        facts,
        JETSON_OUTSIDE_MATRIX_ROW,
        Status.OUTSIDE_VERIFIED_MATRIX,
        Severity.WARNING,
        f"{board} on {release}, {where}: outside the verified matrix. {context}, but no modelrt release is checked "
        f"on it. {stack}",
        fix=fix,
    )


def _older_outside_matrix(facts: JetsonFacts, board: str, release: str, where: str) -> Finding:
    python = {4: "Ubuntu 18.04 with Python 3.6", 5: "Ubuntu 20.04 with Python 3.8"}.get(facts.jetpack_major or 0)
    shipped = (
        f" JetPack {facts.jetpack_major} ships {python}, below the {_PYTHON_FLOOR} modelrt needs." if python else ""
    )
    return Finding(
        JETSON_OUTSIDE_MATRIX_ROW,
        Status.OUTSIDE_VERIFIED_MATRIX,
        Severity.WARNING,
        f"{board} on {release}, {where}: outside the verified matrix, which covers JetPack 6.1 and JetPack 5.1.x "
        f"(L4T 35.2.1 to 35.6.x).{shipped}",
        fix="flash JetPack 6.1 (Orin modules), or JetPack 5.1.x (Xavier and Orin modules) and use Docker",
    )


def _unknown_l4t(facts: JetsonFacts) -> Finding:
    reason = facts.unknown.get("l4t", "it was not found")
    return Finding(
        JETSON_UNKNOWN_ROW,
        Status.UNKNOWN,
        Severity.WARNING,
        f"This is an NVIDIA Jetson ({'; '.join(facts.evidence)}), but its L4T release is unknown: {reason}. "
        "Without it no row of the matrix can be chosen.",
        fix=(
            "on the board itself run `head -1 /etc/nv_tegra_release`, then mount that file into the container "
            f"(docker run -v /etc/nv_tegra_release:/etc/nv_tegra_release:ro ...) or set {L4T_OVERRIDE_VARIABLE} "
            "to the release it names (36.4.0 for `# R36 (release), REVISION: 4.0`)"
        ),
        install=(JETSON_EXTRA,),
    )


def _unknown_release(facts: JetsonFacts, l4t: L4TVersion) -> Finding:
    return Finding(
        JETSON_UNKNOWN_ROW,
        Status.UNKNOWN,
        Severity.WARNING,
        f"{_board_words(facts)}: L4T {l4t} (R{l4t.major}) is not a release this plugin knows (it knows R32 to R39), "
        "so its JetPack is not guessed and no row of the matrix applies.",
        fix=(
            "pip install -U modelrt-jetson (a newer release may know it); if the release was misread, set "
            f"{L4T_OVERRIDE_VARIABLE} to the one `head -1 /etc/nv_tegra_release` names"
        ),
    )


def _finding(
    facts: JetsonFacts,
    row: str,
    status: Status,
    severity: Severity,
    message: str,
    fix: str | None = None,
) -> Finding:
    """A verdict advising ``modelrt[jetson]``, plus the GPU runtimes from the Jetson index where one fits."""
    if facts.wheel_index is None:
        return Finding(row, status, severity, message, fix=fix, install=(JETSON_EXTRA,))
    return Finding(
        row,
        status,
        severity,
        f"{message} The Jetson builds of {' and '.join(JETSON_WHEELS)} come from the Jetson wheel index "
        f"{facts.wheel_index}, not PyPI.",
        fix=fix,
        install=(JETSON_EXTRA,),
        index_url=facts.wheel_index,
        index_install=JETSON_WHEELS,
    )


# -------------------------------------------------------------------------------- what stands in the way


def _tensorrt_wheels(facts: JetsonFacts) -> Finding:
    wheels = "; ".join(f"{wheel.name} {wheel.version} in {wheel.location}" for wheel in facts.tensorrt_wheels)
    system = (
        f"TensorRT {facts.tensorrt} ({facts.tensorrt_library})" if facts.tensorrt else "TensorRT that JetPack ships"
    )
    if facts.tensorrt_bindings:
        paths = ", ".join(bindings.path for bindings in facts.tensorrt_bindings)
        use_system = (
            f"then use JetPack's bindings in {paths}: a virtual environment sees them only when created with "
            "`python3 -m venv --system-site-packages`"
        )
    else:
        use_system = "then install JetPack's bindings: sudo apt install python3-libnvinfer"
    names = " ".join(sorted({wheel.name for wheel in facts.tensorrt_wheels}))
    return Finding(
        JETSON_TENSORRT_ROW,
        Status.NOT_POSSIBLE,
        Severity.ERROR,
        f"TensorRT from PyPI is installed ({wheels}). PyPI's TensorRT is not built for Jetson: it shadows the "
        f"TensorRT Python bindings JetPack ships and loads libraries that conflict with the {system}.",
        fix=f"pip uninstall -y {names}; {use_system}",
    )


def _bindings_for_another_python(facts: JetsonFacts, env: Environment) -> list[Finding]:
    """Bindings built for other Pythons than this one; judged on the live board only (its Python is ours)."""
    if env.host_root is not None or not facts.tensorrt_bindings or env.python_version is None:
        return []
    if facts.bindings_for(env.python_version) is not None:
        return []
    built_for = sorted({bindings.python for bindings in facts.tensorrt_bindings})
    this_python = ".".join(env.python_version.split(".")[:2])
    return [
        Finding(
            JETSON_TENSORRT_ROW,
            Status.NOT_POSSIBLE,
            Severity.WARNING,
            f"JetPack's TensorRT Python bindings ({_bindings_where(facts).strip(' ()')}) are built for Python "
            f"{', '.join(built_for)}, and this is Python {this_python}: a TensorRT backend cannot import them here.",
            fix=(
                f"run modelrt with Python {built_for[0]}, in a virtual environment created with "
                f"`python{built_for[0]} -m venv --system-site-packages`"
            ),
        )
    ]


def _override_problems(facts: JetsonFacts) -> list[Finding]:
    reason = facts.unknown.get("l4t_override")
    if reason is None:
        return []
    used = f" L4T {facts.l4t} from {facts.l4t_source} was used instead." if facts.l4t else ""
    return [
        Finding(
            JETSON_OVERRIDE_ROW,
            Status.UNKNOWN,
            Severity.WARNING,
            f"{reason}.{used}",
            fix=f"set {L4T_OVERRIDE_VARIABLE} to a release such as 36.4.0, or unset it",
        )
    ]


def _override_on_another_host(facts: JetsonFacts) -> Finding:
    return Finding(
        JETSON_OVERRIDE_ROW,
        Status.UNKNOWN,
        Severity.WARNING,
        f"{L4T_OVERRIDE_VARIABLE}={facts.l4t_override} is set, but this host is not an NVIDIA Jetson "
        f"({facts.not_jetson_reason}), so it was not applied.",
        fix=f"unset {L4T_OVERRIDE_VARIABLE}: it corrects the L4T release of a Jetson only",
    )


# --------------------------------------------------------------------------------------------- words


def _board_words(facts: JetsonFacts) -> str:
    """``Jetson AGX Orin 64GB (tegra234, GPU compute capability 8.7, 2 DLA cores)``."""
    if facts.module:
        name = facts.module
    elif facts.soc in SOC_FAMILY:
        name = f"Jetson {SOC_FAMILY[facts.soc]} module"
    else:
        name = "Jetson (module unknown)"
    details = [detail for detail in (facts.soc,) if detail]
    if facts.gpu_compute_capability:
        details.append(f"GPU compute capability {facts.gpu_compute_capability}")
    if facts.dla_cores is not None:
        details.append(f"{facts.dla_cores} DLA core{'' if facts.dla_cores == 1 else 's'}")
    return f"{name} ({', '.join(details)})" if details else name


def _release_words(facts: JetsonFacts) -> str:
    """``JetPack 6.1 (L4T 36.4.0)``; the L4T's source when it is not the release file."""
    if facts.jetpack:
        jetpack = f"JetPack {facts.jetpack}"
    else:
        jetpack = f"JetPack {facts.jetpack_major} (a release this plugin's table does not list)"
    source = "" if facts.l4t_source == "/etc/nv_tegra_release" else f", from {facts.l4t_source}"
    return f"{jetpack} (L4T {facts.l4t}{source})"


def _where_words(facts: JetsonFacts, env: Environment) -> str:
    if env.container and env.container != "none":
        return f"in a {env.container} container"
    return "in a container" if facts.in_container else "bare metal"


def _stack_words(facts: JetsonFacts) -> str:
    if facts.tensorrt:
        tensorrt = f"System TensorRT {facts.tensorrt} ({facts.tensorrt_library})"
    else:
        tensorrt = f"No system TensorRT ({facts.unknown.get('tensorrt', f'none under /{LIBRARY_DIR}')})"
    if facts.cuda is None:
        cuda = "CUDA not found"
    elif (facts.cuda_source or "").startswith("/"):
        cuda = f"CUDA {facts.cuda}"
    else:
        cuda = f"CUDA {facts.cuda} ({facts.cuda_source})"
    return f"{tensorrt}; {cuda}."


def _bindings_where(facts: JetsonFacts) -> str:
    paths = ", ".join(bindings.path for bindings in facts.tensorrt_bindings)
    return f" ({paths})" if paths else ""
