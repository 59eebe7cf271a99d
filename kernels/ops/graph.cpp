// ops::CudaGraph: the DeviceContext-level wrapper of cuda::Graph (CPU contexts and CPU-only
// builds refuse it).
#include "kernels/ops/graph.h"

#include "kernels/core/error.h"
#ifdef MVL_HAVE_CUDA
#include "kernels/cuda/graph.h"
#include "kernels/ops/backend/cuda_context.h"
#endif

namespace mvl::ops {

#ifdef MVL_HAVE_CUDA
struct CudaGraph::Impl {
  detail::CtxPtr ctx;  // declared first: destroyed after the graph that launches on its stream
  cuda::Graph graph;
  const void* scratch = nullptr;  // the scratch arena the captured kernels use
};
#else
struct CudaGraph::Impl {};
#endif

CudaGraph CudaGraph::capture(const DeviceContext& dev, const std::function<void()>& body) {
  MVL_CHECK(
      dev.is_cuda(), unsupported,
      "CUDA graph capture needs a CUDA DeviceContext, got {}; run the step eagerly on the CPU",
      dev.device().str());
#ifdef MVL_HAVE_CUDA
  auto impl = std::make_shared<Impl>();
  impl->ctx = detail::ctx_of(dev);
  MVL_CHECK(impl->ctx != nullptr, internal, "CUDA DeviceContext {} has no backend",
            dev.device().str());
  impl->graph = cuda::Graph::capture(*impl->ctx, body);
  impl->scratch = impl->ctx->scratch(0);  // never grows: the arena as the capture left it
  CudaGraph g;
  g.impl_ = std::move(impl);
  return g;
#else
  throw Error(ErrorCategory::unsupported,
              "CUDA graph capture requested but this build has no CUDA backend");
#endif
}

void CudaGraph::launch() const {
  MVL_CHECK(valid(), invalid_argument, "launch of an empty CudaGraph (capture one first)");
#ifdef MVL_HAVE_CUDA
  MVL_CHECK(!stale(), invalid_argument,
            "launch of a CUDA graph whose scratch arena was reallocated since its capture (an op "
            "outside the graph needed more scratch); capture it again");
  impl_->graph.launch();
#endif
}

bool CudaGraph::valid() const {
#ifdef MVL_HAVE_CUDA
  return impl_ && impl_->graph.valid();
#else
  return false;
#endif
}

bool CudaGraph::stale() const {
#ifdef MVL_HAVE_CUDA
  return impl_ && impl_->graph.valid() && impl_->ctx->scratch(0) != impl_->scratch;
#else
  return false;
#endif
}

size_t CudaGraph::node_count() const {
#ifdef MVL_HAVE_CUDA
  return impl_ ? impl_->graph.node_count() : 0;
#else
  return 0;
#endif
}

}  // namespace mvl::ops
