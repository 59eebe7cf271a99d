// The configuration lists of kernels/bench/quant_moe_sweep.cu, per format (included by one .cu
// per format). Gate/up: (WARPS, TOK, UNROLL, ROWS[, PIPE]); down: (WARPS, TOK, UNROLL[, PIPE]).
// UNROLL values that divide the chunks per lane at the released shapes (int8/fp8: 12 gate/up, 18
// down; int4: 6 and 9) come first. TOK = 1 entries run at n <= 8 (the tiling sweep at n = 1; at
// n = 8 they say whether kTok1MaxN should rise); TOK > 1 entries (a few tilings) at n > 1. The
// product's own configuration (QmoeTuned in quant_moe.cu) must be in each list, flagged true:
// the sweep marks it '*'; keep those flags and kProductTok1MaxN (quant_moe_sweep.h) equal to it.
#pragma once

#include <string>

#include "kernels/bench/quant_moe_sweep.h"

namespace mvl::cuda::sweep {

template <int F, int W, int T, int U, int R, int P = 0>
Variant gu(bool product = false) {
  return {"gu w" + std::to_string(W) + " t" + std::to_string(T) + " u" + std::to_string(U) + " r" +
              std::to_string(R) + (P ? " pipe" : ""),
          false, T, product, &qmoe::launch_gate_up<F, W, T, U, R, P>};
}
template <int F, int W, int T, int U, int P = 0>
Variant dn(bool product = false) {
  return {"dn w" + std::to_string(W) + " t" + std::to_string(T) + " u" + std::to_string(U) +
              (P ? " pipe" : ""),
          true, T, product, &qmoe::launch_down<F, W, T, U, P>};
}

// int8 and fp8 (16 weights a chunk). Product: n = 1 gu (8, u2, r1), dn (8, u2) (the H100 sweep
// of session 6: 1.04x floor for the layer, vs 1.14x with u4 / u6); n > 1 gu (8, u4, r1),
// dn (8, u6), kTok 4.
template <int F>
std::vector<Variant> variants_bytes() {
  return {gu<F, 8, 1, 4, 1>(), gu<F, 4, 1, 4, 1>(), gu<F, 8, 1, 3, 1>(), gu<F, 8, 1, 6, 1>(),
          gu<F, 8, 1, 2, 1>(true), gu<F, 8, 1, 2, 2>(), gu<F, 8, 1, 3, 2>(), gu<F, 4, 1, 6, 2>(),
          dn<F, 8, 1, 6>(), dn<F, 4, 1, 6>(), dn<F, 8, 1, 3>(), dn<F, 8, 1, 9>(),
          dn<F, 8, 1, 2>(true), dn<F, 16, 1, 6>(),
          // n = 1, the next chunks loaded before the math
          gu<F, 8, 1, 2, 1, 1>(), gu<F, 8, 1, 3, 1, 1>(), gu<F, 8, 1, 4, 1, 1>(),
          dn<F, 8, 1, 3, 1>(), dn<F, 8, 1, 6, 1>(),
          // n > 1
          gu<F, 8, 2, 4, 1>(), gu<F, 8, 4, 4, 1>(true), gu<F, 8, 8, 4, 1>(), gu<F, 8, 4, 2, 1>(),
          gu<F, 8, 8, 2, 1>(), gu<F, 8, 4, 3, 2>(), dn<F, 8, 2, 6>(), dn<F, 8, 4, 6>(true),
          dn<F, 8, 8, 6>(), dn<F, 8, 4, 3>(), dn<F, 8, 8, 3>(), gu<F, 8, 4, 2, 1, 1>(),
          dn<F, 8, 4, 3, 1>()};
}

// The int4 tensor-core kernels (quant_moe_int4.cuh): KS warps per 16-row tile, U groups in
// flight per warp; every n (8 tokens per pass).
template <int KS, int U>
Variant gu_mma(bool product = false) {
  return {"gu mma k" + std::to_string(KS) + " u" + std::to_string(U), false, 1, product,
          &qmoe::launch_gate_up_i4<KS, U>, true};
}
template <int KS, int U>
Variant dn_mma(bool product = false) {
  return {"dn mma k" + std::to_string(KS) + " u" + std::to_string(U), true, 1, product,
          &qmoe::launch_down_i4<KS, U>, true};
}

// int4 (32 weights a chunk). Product: the tensor-core kernels, gu (k4, u2), dn (k6, u2)
// (QmoeTuned<kI4>::kMma...); the CUDA-core tilings below, for comparison, are not run by the
// product at the released shapes.
// (A template so that only the int4 translation unit instantiates these kernels.)
template <int F>
std::vector<Variant> variants_nibbles() {
  return {gu_mma<4, 2>(true), gu_mma<2, 2>(), gu_mma<1, 4>(), gu_mma<4, 1>(), gu_mma<4, 3>(),
          gu_mma<8, 1>(), gu_mma<6, 2>(), gu_mma<8, 2>(), dn_mma<8, 2>(), dn_mma<8, 1>(),
          dn_mma<4, 2>(), dn_mma<6, 2>(true), dn_mma<12, 1>(), dn_mma<8, 3>(), dn_mma<4, 3>(),
          dn_mma<12, 2>(), dn_mma<16, 1>(),
          // the CUDA-core kernels of quant_moe_decode.cuh
          gu<F, 8, 1, 3, 1>(), gu<F, 4, 1, 3, 1>(), gu<F, 8, 1, 2, 1>(), gu<F, 8, 1, 6, 1>(),
          gu<F, 8, 1, 3, 2>(), gu<F, 8, 1, 2, 2>(), gu<F, 4, 1, 3, 2>(), dn<F, 8, 1, 3>(),
          dn<F, 4, 1, 3>(), dn<F, 8, 1, 9>(), dn<F, 8, 1, 2>(), dn<F, 16, 1, 3>(),
          // n = 1, the next chunks loaded before the math
          gu<F, 8, 1, 2, 1, 1>(), gu<F, 8, 1, 3, 1, 1>(), dn<F, 8, 1, 3, 1>(), dn<F, 8, 1, 2, 1>(),
          // n > 1
          gu<F, 8, 2, 3, 1>(), gu<F, 8, 4, 3, 1>(), gu<F, 8, 8, 3, 1>(), gu<F, 8, 4, 2, 1>(),
          gu<F, 8, 8, 2, 1>(), dn<F, 8, 2, 3>(), dn<F, 8, 4, 3>(), dn<F, 8, 8, 3>(),
          dn<F, 8, 4, 2>(), dn<F, 8, 8, 2>(), gu<F, 8, 4, 2, 1, 1>(), dn<F, 8, 4, 2, 1>()};
}

}  // namespace mvl::cuda::sweep
