"""A YOLOv8-shaped detection model built offline with ``onnx.helper``, with a realistic NMS load.

Output ``[B, 84, 8400]`` like YOLOv8n at 640x640 (three strides, 80 classes); a conv trunk whose CPU run
time is close to YOLOv8n's (about 100 ms on 2 cores, where PEER.md measured YOLOv8n at 128-137 ms). With
random weights no anchor would pass a 0.25 threshold, so one bias on
the class logits is calibrated on the benchmark image so that exactly ``passing`` anchors do: NMS and the
box decoding then cost what they cost on a real model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

NUM_CLASSES = 80
INPUT_SIZE = 640
TRUNK_CHANNELS = 96
TRUNK_DEPTH = 20  # 3x3 convolutions at stride 8: the bulk of the compute


def anchors(input_size: int) -> int:
    """Anchors of a three-level head (strides 8, 16, 32): 8400 at 640x640."""
    return sum((input_size // stride) ** 2 for stride in (8, 16, 32))


def _graph(class_bias: float, seed: int = 0, input_size: int = INPUT_SIZE, trunk_depth: int = TRUNK_DEPTH) -> Any:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    nodes, inits = [], []

    def conv(name: str, x: str, cin: int, cout: int, k: int, s: int, relu: bool = True) -> str:
        w = rng.normal(0, np.sqrt(2.0 / (cin * k * k)), (cout, cin, k, k)).astype(np.float32)
        inits.append(numpy_helper.from_array(w, f"{name}.w"))
        inits.append(numpy_helper.from_array(np.zeros(cout, np.float32), f"{name}.b"))
        nodes.append(
            helper.make_node(
                "Conv",
                [x, f"{name}.w", f"{name}.b"],
                [f"{name}.y"],
                kernel_shape=[k, k],
                strides=[s, s],
                pads=[k // 2] * 4,
            )
        )
        if not relu:
            return f"{name}.y"
        nodes.append(helper.make_node("Relu", [f"{name}.y"], [f"{name}.r"]))
        return f"{name}.r"

    x = conv("stem1", "images", 3, 16, 3, 2)
    x = conv("stem2", x, 16, 32, 3, 2)
    x = conv("stem3", x, 32, TRUNK_CHANNELS, 3, 2)
    for i in range(trunk_depth):
        x = conv(f"trunk{i}", x, TRUNK_CHANNELS, TRUNK_CHANNELS, 3, 1)
    p3 = x
    p4 = conv("down4", p3, TRUNK_CHANNELS, TRUNK_CHANNELS, 3, 2)
    p5 = conv("down5", p4, TRUNK_CHANNELS, TRUNK_CHANNELS, 3, 2)
    flat = []
    shape = numpy_helper.from_array(np.array([0, 4 + NUM_CLASSES, -1], np.int64), "head.shape")
    inits.append(shape)
    for level, feature in (("p3", p3), ("p4", p4), ("p5", p5)):
        head = conv(f"head_{level}", feature, TRUNK_CHANNELS, 4 + NUM_CLASSES, 1, 1, relu=False)
        nodes.append(helper.make_node("Reshape", [head, "head.shape"], [f"{level}.flat"]))
        flat.append(f"{level}.flat")
    nodes.append(helper.make_node("Concat", flat, ["logits"], axis=2))
    # Boxes: sigmoid * (640, 640, 160, 160) gives centres anywhere and sizes up to a quarter image.
    # Classes: sigmoid(logit * 1.0 + class_bias), the calibrated bias setting the NMS load.
    bias = np.zeros((1, 4 + NUM_CLASSES, 1), np.float32)
    bias[0, 4:, 0] = class_bias
    scale = np.ones((1, 4 + NUM_CLASSES, 1), np.float32)
    scale[0, :4, 0] = (input_size, input_size, input_size / 4, input_size / 4)
    inits += [numpy_helper.from_array(bias, "class_bias"), numpy_helper.from_array(scale, "box_scale")]
    nodes += [
        helper.make_node("Add", ["logits", "class_bias"], ["biased"]),
        helper.make_node("Sigmoid", ["biased"], ["sig"]),
        helper.make_node("Mul", ["sig", "box_scale"], ["output0"]),
    ]
    graph = helper.make_graph(
        nodes,
        "yolo_like",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", 3, input_size, input_size])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, ["batch", 4 + NUM_CLASSES, anchors(input_size)])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def build(path: Path, calibration_input: np.ndarray, passing: int = 300, trunk_depth: int = TRUNK_DEPTH) -> Path:
    """Write the model to ``path`` with its class bias set so ``passing`` anchors score ≥ 0.25.

    The input size is the calibration input's; a small size and depth give the tiny model of the
    harness's own tests.
    """
    import onnx
    import onnxruntime as ort

    input_size = int(calibration_input.shape[-1])
    probe = _graph(class_bias=0.0, input_size=input_size, trunk_depth=trunk_depth)
    session = ort.InferenceSession(probe.SerializeToString(), providers=["CPUExecutionProvider"])
    scores = session.run(None, {"images": calibration_input})[0][0, 4:, :]
    logits = np.log(scores / (1 - scores))  # undo the sigmoid
    best = np.sort(logits.max(axis=0))[::-1]
    # Place the threshold halfway between the passing-th and the next anchor's best logit.
    target = float(np.log(0.25 / 0.75))
    bias = target - float(best[passing - 1] + best[passing]) / 2
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(_graph(class_bias=bias, input_size=input_size, trunk_depth=trunk_depth), str(path))
    return path
