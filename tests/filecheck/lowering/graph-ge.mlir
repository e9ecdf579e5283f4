// lower-to-graph, GE IR form (-t ge-text): Data / op / NetOutput, inputs "producer:index",
// tensor descriptors with the data format of the CIR encoding (5HD shapes are physical).
// RUN: circ-opt %s -t ge-text | filecheck %s

// CHECK-LABEL: graph {
// CHECK: input: "x:0"
// CHECK: output: "trans_data_2:0"
// CHECK: name: "x"
// CHECK-NEXT: type: "Data"
// CHECK: name: "trans_data_0"
// CHECK-NEXT: type: "TransData"
// CHECK-NEXT: input: "x:0"
// CHECK: key: "dst_format"
// CHECK-NEXT: value {
// CHECK-NEXT: s: "NC1HWC0"
// CHECK: output_desc {
// CHECK-NEXT: name: "trans_data_0"
// CHECK-NEXT: dtype: DT_FLOAT16
// CHECK-NEXT: shape {
// CHECK-NEXT: dim: 1
// CHECK-NEXT: dim: 2
// CHECK-NEXT: dim: 4
// CHECK-NEXT: dim: 4
// CHECK-NEXT: dim: 16
// CHECK-NEXT: }
// CHECK-NEXT: layout: "NC1HWC0"
// CHECK: name: "silu_1"
// CHECK-NEXT: type: "Swish"
// CHECK-NEXT: input: "trans_data_0:0"
// CHECK: name: "NetOutput"
// CHECK-NEXT: type: "NetOutput"
// CHECK-NEXT: input: "trans_data_2:0"
func.func @main(%x: tensor<1x20x4x4xf16>) -> tensor<1x20x4x4xf16> {
  %a = cir.trans_data %x {src_format = "ND", dst_format = "NC1HWC0"} : tensor<1x20x4x4xf16> -> tensor<1x20x4x4xf16, #cir.format<NC1HWC0>>
  %s = cir.silu %a : tensor<1x20x4x4xf16, #cir.format<NC1HWC0>>
  %b = cir.trans_data %s {src_format = "NC1HWC0", dst_format = "ND"} : tensor<1x20x4x4xf16, #cir.format<NC1HWC0>> -> tensor<1x20x4x4xf16>
  func.return %b : tensor<1x20x4x4xf16>
}
