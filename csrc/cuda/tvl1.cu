// CUDA instantiation of the batched TV-L1 and strain schedules (tvl1_driver.hpp) and the device queries.
#include <cuda_runtime.h>

#include "api.hpp"
#include "exec_cuda.cuh"
#include "tvl1_driver.hpp"

namespace mefast::gpu {

DeviceQuery query_devices() {
    DeviceQuery q;
    int n = 0;
    const cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        int driver = 0;
        if (cudaDriverGetVersion(&driver) != cudaSuccess) (void)cudaGetLastError();
        q.count = 0;
        q.status = std::string(cudaGetErrorName(e)) + ": " + cudaGetErrorString(e);
        if (driver == 0) q.status = "no NVIDIA driver found (" + q.status + ")";
        return q;
    }
    q.count = n;
    q.status = n > 0 ? "ok" : "no CUDA device";
    return q;
}

DeviceProperties device_properties(int index) {
    cudaDeviceProp prop{};
    cuda_check(cudaGetDeviceProperties(&prop, index), "cudaGetDeviceProperties");
    DeviceProperties d;
    d.name = prop.name;
    d.major = prop.major;
    d.minor = prop.minor;
    d.multiprocessors = prop.multiProcessorCount;
    d.total_memory = prop.totalGlobalMem;
    return d;
}

int runtime_version() {
    int v = 0;
    if (cudaRuntimeGetVersion(&v) != cudaSuccess) (void)cudaGetLastError();
    return v;
}

int driver_version() {
    int v = 0;
    if (cudaDriverGetVersion(&v) != cudaSuccess) (void)cudaGetLastError();
    return v;
}

void tvl1_pairs_cuda(const float* frames, int nf, int h, int w, const int* i0, const int* i1, std::ptrdiff_t n_pairs,
                     const tvl1::Params& p, int batch_size, float* flows) {
    CudaExec ex;
    tvl1_pairs(ex, frames, nf, h, w, i0, i1, n_pairs, p, batch_size, flows);
}

void optical_strain_cuda(const float* flows, std::ptrdiff_t n, int h, int w, int scheme, float* out) {
    CudaExec ex;
    optical_strain(ex, flows, n, h, w, scheme, out);
}

}  // namespace mefast::gpu
