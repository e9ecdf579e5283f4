// normalize-onnx on attribute values the mapping's helpers cannot take (here: a Pad whose pads
// are shorter than twice the rank, which a hostile model can carry): one error naming the op.
// RUN: not circ-opt %s -p normalize-onnx 2>&1 | filecheck %s
// CHECK: normalize-onnx: Pad at pad0: its attributes are outside what the mapping handles (IndexError: list index out of range)
builtin.module attributes {onnx.opset = 18 : i64} {
  func.func @main(%x: tensor<2x3x4xf32>, %i: tensor<2xi64>) -> tensor<2x5x4xf32> {
    %p = onnx.Pad(data=%x, pads=%i) {mode = "constant", pads_value = [0, 1]} : (tensor<2x3x4xf32>, tensor<2xi64>) -> tensor<2x5x4xf32> loc("pad0")
    func.return %p : tensor<2x5x4xf32>
  }
}
