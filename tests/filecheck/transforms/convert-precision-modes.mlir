// convert-precision{mode=...}: ATC's precision modes (passes/tables/precision.toml).
// RUN: circ-opt %s -p 'convert-precision{mode=mixed_float16}' | filecheck %s --check-prefix=MIX
// RUN: echo '{"black-list": {"to-add": ["Mul"]}}' > %t.json
// RUN: circ-opt %s -p 'convert-precision{mode=allow_mix_precision mixlist="%t.json"}' | filecheck %s --check-prefix=LIST
// RUN: echo 'OpType::Add' > %t.keep
// RUN: circ-opt %s -p 'convert-precision{mode=allow_fp32_to_fp16 keep="%t.keep"}' | filecheck %s --check-prefix=CUBE
// RUN: circ-opt %s -p 'convert-precision{mode=origin}' | filecheck %s --check-prefix=ORIGIN
// RUN: not circ-opt %s -p 'convert-precision{mode=bogus}' 2>&1 | filecheck %s --check-prefix=BAD
// RUN: echo '{"white-list": {"to-remove": ["Nope"]}}' > %t.bad.json
// RUN: not circ-opt %s -p 'convert-precision{mode=mixed_float16 mixlist="%t.bad.json"}' 2>&1 | filecheck %s --check-prefix=BADLIST
// RUN: not circ-opt %s -p 'convert-precision{mode=fp16 mixlist="%t.json"}' 2>&1 | filecheck %s --check-prefix=NOTMIX

// mixed: matmul is white (fp16), the add after it gray (follows it), softmax black (fp32, the
// add's result cast up once), relu gray after an fp32 op; weights only fp16 ops read are fp16.
// MIX:      %x_f16 = cir.cast %x : (tensor<2x8xf32>) -> tensor<2x8xf16>
// MIX-NEXT: %w = cir.weight "w" : tensor<8x4xf16>
// MIX-NEXT: %b = cir.weight "b" : tensor<4xf16>
// MIX-NEXT: %mm = cir.matmul %x_f16, %w : (tensor<2x8xf16>, tensor<8x4xf16>) -> tensor<2x4xf16>
// MIX-NEXT: %ad = cir.add %mm, %b : (tensor<2x4xf16>, tensor<4xf16>) -> tensor<2x4xf16>
// MIX-NEXT: %ad_f32 = cir.cast %ad : (tensor<2x4xf16>) -> tensor<2x4xf32>
// MIX-NEXT: %sm = cir.softmax %ad_f32 : tensor<2x4xf32>
// MIX-NEXT: %r = cir.relu %sm : tensor<2x4xf32>
// MIX-NEXT: %e = cir.mul %ad, %b : (tensor<2x4xf16>, tensor<4xf16>) -> tensor<2x4xf16>
// MIX-NEXT: %e_f32 = cir.cast %e : (tensor<2x4xf16>) -> tensor<2x4xf32>
// MIX-NEXT: func.return %r, %e_f32 : tensor<2x4xf32>, tensor<2x4xf32>

// --modify_mixlist puts Mul on the black list: the weight b is read in both types
// LIST:      %b = cir.weight "b" : tensor<4xf32>
// LIST-NEXT: %b_f16 = cir.cast %b : (tensor<4xf32>) -> tensor<4xf16>
// LIST:      %e = cir.mul %ad_f32, %b : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xf32>

// allow_fp32_to_fp16: only the cube op is reduced (--keep_dtype OpType::Add changes nothing here)
// CUBE:      %mm = cir.matmul %x_f16, %w : (tensor<2x8xf16>, tensor<8x4xf16>) -> tensor<2x4xf16>
// CUBE-NEXT: %mm_f32 = cir.cast %mm : (tensor<2x4xf16>) -> tensor<2x4xf32>
// CUBE-NEXT: %ad = cir.add %mm_f32, %b : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xf32>

// ORIGIN-NOT: f16

// BAD: convert-precision: unknown precision mode 'bogus' (known: {{.*}}mixed_float16{{.*}})
// BADLIST: mixlist {{.*}}: 'Nope' is not in the white-list to remove it from
// NOTMIX: convert-precision: a mixlist applies to the mixed precision modes, not to 'fp16'
func.func @main(%x: tensor<2x8xf32>) -> (tensor<2x4xf32>, tensor<2x4xf32>) {
  %w = cir.weight "w" : tensor<8x4xf32>
  %b = cir.weight "b" : tensor<4xf32>
  %mm = cir.matmul %x, %w : (tensor<2x8xf32>, tensor<8x4xf32>) -> tensor<2x4xf32>
  %ad = cir.add %mm, %b : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  %sm = cir.softmax %ad : tensor<2x4xf32>
  %r = cir.relu %sm : tensor<2x4xf32>
  %e = cir.mul %ad, %b : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  func.return %r, %e : tensor<2x4xf32>, tensor<2x4xf32>
}
