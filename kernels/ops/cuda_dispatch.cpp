// ops dispatch predicates (see cuda_dispatch.h).
#include "kernels/ops/cuda_dispatch.h"

namespace mvl::ops::detail {

bool any_cuda(std::initializer_list<const Tensor*> ts) {
  for (const Tensor* t : ts)
    if (t && t->defined() && t->device().is_cuda()) return true;
  return false;
}

}  // namespace mvl::ops::detail
