// The CUDA executor of the batched kernels: device buffers, one stream per call, and two generic kernels
// (for_each, for_each_sum) that run an operation of ops_*.hpp over (item, element) with a gate.
//
// Kernels are persistent-style: a grid sized to fill the GPU once (occupancy-based) walks the flattened
// (item, chunk of 256 elements) sequence, block b taking chunks b, b + G, b + 2G, ... Each block first
// evaluates the gate of every item into shared memory, so items that stopped iterating cost one byte read
// per block instead of launching their blocks. Sums (for_each_sum) are reduced per block and item and added
// with one double atomicAdd.
//
// Errors: every CUDA call is checked and turned into std::runtime_error (RuntimeError in Python) naming the
// call; launches are checked at once (configuration errors) and the stream when it is synchronised.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <sstream>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>

#include "ops_common.hpp"

namespace mefast::gpu {

inline void cuda_check(cudaError_t e, const char* what) {
    if (e != cudaSuccess) {
        std::ostringstream os;
        os << "CUDA error in " << what << ": " << cudaGetErrorName(e) << " (" << cudaGetErrorString(e) << ")";
        throw std::runtime_error(os.str());
    }
}

constexpr int kBlock = 256;

/// Owning device buffer (cudaMalloc / cudaFree), move-only.
template <class T>
class DeviceArray {
public:
    DeviceArray() = default;
    explicit DeviceArray(std::size_t n) : n_(n) {
        if (n == 0) return;
        const cudaError_t e = cudaMalloc(reinterpret_cast<void**>(&p_), n * sizeof(T));
        if (e != cudaSuccess) {
            (void)cudaGetLastError();  // clear the (non-sticky) allocation error
            std::ostringstream os;
            os << "CUDA could not allocate " << (n * sizeof(T)) / (1024.0 * 1024.0)
               << " MiB of device memory (" << cudaGetErrorString(e) << "); use a smaller batch_size";
            throw std::runtime_error(os.str());
        }
    }
    DeviceArray(const DeviceArray&) = delete;
    DeviceArray& operator=(const DeviceArray&) = delete;
    DeviceArray(DeviceArray&& o) noexcept : p_(std::exchange(o.p_, nullptr)), n_(std::exchange(o.n_, 0)) {}
    DeviceArray& operator=(DeviceArray&& o) noexcept {
        if (this != &o) {
            reset();
            p_ = std::exchange(o.p_, nullptr);
            n_ = std::exchange(o.n_, 0);
        }
        return *this;
    }
    ~DeviceArray() { reset(); }
    T* data() { return p_; }
    std::size_t size() const { return n_; }

private:
    void reset() {
        if (p_) (void)cudaFree(p_);  // synchronises with work still using the buffer
        p_ = nullptr;
    }
    T* p_ = nullptr;
    std::size_t n_ = 0;
};

namespace kernels {

// First chunk of item k for block b is (b - k * n_chunks) mod G; step = n_chunks mod G walks it from k to k+1.
__device__ inline int next_start(int c, int step, int G) {
    c -= step;
    return c < 0 ? c + G : c;
}

template <class Gate>
__device__ inline void fill_gates(unsigned char* active, int n_items, const Gate& gate) {
    if constexpr (!Gate::kAlways) {
        for (int k = threadIdx.x; k < n_items; k += blockDim.x) active[k] = gate(k) ? 1 : 0;
        __syncthreads();
    }
}

template <class Gate>
__device__ inline bool is_active(const unsigned char* active, int k) {
    if constexpr (Gate::kAlways) {
        return true;
    } else {
        return active[k] != 0;
    }
}

template <class Gate, class Op>
__global__ void __launch_bounds__(kBlock) for_each(int n_items, int n_elems, Gate gate, Op op) {
    extern __shared__ unsigned char active[];
    fill_gates(active, n_items, gate);
    const int G = static_cast<int>(gridDim.x);
    const int n_chunks = (n_elems + kBlock - 1) / kBlock;
    const int step = n_chunks % G;
    int start = static_cast<int>(blockIdx.x);
    for (int k = 0; k < n_items; ++k, start = next_start(start, step, G)) {
        if (!is_active<Gate>(active, k)) continue;
        for (int c = start; c < n_chunks; c += G) {
            const int i = c * kBlock + static_cast<int>(threadIdx.x);
            if (i < n_elems) op(k, i);
        }
    }
}

template <class Gate, class Op>
__global__ void __launch_bounds__(kBlock)
    for_each_sum(int n_items, int n_elems, Gate gate, Op op, double* sums, int slot, int clear) {
    extern __shared__ unsigned char active[];
    __shared__ double partial[kBlock / 32];
    fill_gates(active, n_items, gate);
    if (blockIdx.x == 0)
        for (int k = threadIdx.x; k < n_items; k += blockDim.x) sums[3 * static_cast<index_t>(k) + clear] = 0.0;
    const int G = static_cast<int>(gridDim.x);
    const int n_chunks = (n_elems + kBlock - 1) / kBlock;
    const int step = n_chunks % G;
    const int lane = static_cast<int>(threadIdx.x) & 31, warp = static_cast<int>(threadIdx.x) >> 5;
    int start = static_cast<int>(blockIdx.x);
    for (int k = 0; k < n_items; ++k, start = next_start(start, step, G)) {
        // Both conditions are uniform across the block, so the barriers below are reached by all threads.
        if (!is_active<Gate>(active, k) || start >= n_chunks) continue;
        float acc = 0.0f;
        for (int c = start; c < n_chunks; c += G) {
            const int i = c * kBlock + static_cast<int>(threadIdx.x);
            if (i < n_elems) acc += op(k, i);
        }
        for (int o = 16; o > 0; o >>= 1) acc += __shfl_down_sync(0xffffffffu, acc, o);
        if (lane == 0) partial[warp] = static_cast<double>(acc);
        __syncthreads();
        if (threadIdx.x == 0) {
            double s = 0.0;
            for (int w = 0; w < kBlock / 32; ++w) s += partial[w];
            atomicAdd(sums + 3 * static_cast<index_t>(k) + slot, s);
        }
        __syncthreads();
    }
}

// out = number of items with sums[3 k + slot] > eps (one block). static: one copy per translation unit.
static __global__ void __launch_bounds__(kBlock) count_above(const double* sums, int slot, double eps, int n_items, int* out) {
    __shared__ int partial[kBlock / 32];
    int c = 0;
    for (int k = threadIdx.x; k < n_items; k += blockDim.x) c += sums[3 * static_cast<index_t>(k) + slot] > eps ? 1 : 0;
    for (int o = 16; o > 0; o >>= 1) c += __shfl_down_sync(0xffffffffu, c, o);
    if ((threadIdx.x & 31) == 0) partial[threadIdx.x >> 5] = c;
    __syncthreads();
    if (threadIdx.x == 0) {
        int s = 0;
        for (int w = 0; w < kBlock / 32; ++w) s += partial[w];
        *out = s;
    }
}

}  // namespace kernels

/// Runs the batched schedules on the current CUDA device, on a stream of its own (so concurrent calls from
/// several Python threads neither share buffers nor serialise on the legacy default stream).
class CudaExec {
public:
    template <class T>
    using Array = DeviceArray<T>;

    CudaExec() {
        cuda_check(cudaGetDevice(&device_), "cudaGetDevice");
        cuda_check(cudaDeviceGetAttribute(&sms_, cudaDevAttrMultiProcessorCount, device_), "cudaDeviceGetAttribute");
        cuda_check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
        try {
            cuda_check(cudaHostAlloc(reinterpret_cast<void**>(&host_counts_), 2 * sizeof(int), cudaHostAllocDefault),
                       "cudaHostAlloc");
            for (auto& ev : events_) cuda_check(cudaEventCreateWithFlags(&ev, cudaEventDisableTiming), "cudaEventCreate");
            counts_ = DeviceArray<int>(2);
        } catch (...) {
            release();
            throw;
        }
    }
    CudaExec(const CudaExec&) = delete;
    CudaExec& operator=(const CudaExec&) = delete;
    ~CudaExec() {
        (void)cudaStreamSynchronize(stream_);
        release();
    }

    template <class T>
    Array<T> alloc(std::size_t n) {
        return Array<T>(n);
    }
    template <class T>
    void upload(T* dst, const T* src, std::size_t n) {
        if (n) cuda_check(cudaMemcpyAsync(dst, src, n * sizeof(T), cudaMemcpyHostToDevice, stream_), "cudaMemcpyAsync (upload)");
    }
    template <class T>
    void download(T* dst, const T* src, std::size_t n) {
        if (!n) return;
        cuda_check(cudaMemcpyAsync(dst, src, n * sizeof(T), cudaMemcpyDeviceToHost, stream_), "cudaMemcpyAsync (download)");
        cuda_check(cudaStreamSynchronize(stream_), "a TV-L1/strain kernel (stream synchronisation after download)");
    }
    template <class T>
    void fill_zero(T* dst, std::size_t n) {
        if (n) cuda_check(cudaMemsetAsync(dst, 0, n * sizeof(T), stream_), "cudaMemsetAsync");
    }
    std::size_t free_memory() const {
        std::size_t free = 0, total = 0;
        cuda_check(cudaMemGetInfo(&free, &total), "cudaMemGetInfo");
        return free;
    }

    template <class Gate, class Op>
    void for_each(int n_items, int n_elems, const Gate& gate, const Op& op) {
        if (n_items <= 0 || n_elems <= 0) return;
        auto kernel = kernels::for_each<Gate, Op>;
        const std::size_t smem = Gate::kAlways ? 0 : static_cast<std::size_t>(n_items);
        const int grid = grid_size(reinterpret_cast<const void*>(kernel), smem, n_items, n_elems);
        kernel<<<grid, kBlock, smem, stream_>>>(n_items, n_elems, gate, op);
        cuda_check(cudaGetLastError(), "kernel launch (for_each)");
    }

    template <class Gate, class Op>
    void for_each_sum(int n_items, int n_elems, const Gate& gate, const Op& op, double* sums, int slot, int clear) {
        if (n_items <= 0 || n_elems <= 0) return;
        auto kernel = kernels::for_each_sum<Gate, Op>;
        const std::size_t smem = Gate::kAlways ? 0 : static_cast<std::size_t>(n_items);
        const int grid = grid_size(reinterpret_cast<const void*>(kernel), smem, n_items, n_elems);
        kernel<<<grid, kBlock, smem, stream_>>>(n_items, n_elems, gate, op, sums, slot, clear);
        cuda_check(cudaGetLastError(), "kernel launch (for_each_sum)");
    }

    // Queue a count of the items whose error slot exceeds eps; read it with poll_result(ticket). Two tickets
    // may be outstanding: the driver reads ticket t before it posts t + 2.
    int poll_post(const double* sums, int slot, double eps, int n_items) {
        const int t = next_ticket_++;
        const int j = t % 2;
        kernels::count_above<<<1, kBlock, 0, stream_>>>(sums, slot, eps, n_items, counts_.data() + j);
        cuda_check(cudaGetLastError(), "kernel launch (count_above)");
        cuda_check(cudaMemcpyAsync(host_counts_ + j, counts_.data() + j, sizeof(int), cudaMemcpyDeviceToHost, stream_),
                   "cudaMemcpyAsync (poll)");
        cuda_check(cudaEventRecord(events_[j], stream_), "cudaEventRecord");
        return t;
    }
    int poll_result(int ticket) {
        const int j = ticket % 2;
        cuda_check(cudaEventSynchronize(events_[j]), "a TV-L1 kernel (event synchronisation)");
        return host_counts_[j];
    }
    void finish() { cuda_check(cudaStreamSynchronize(stream_), "a TV-L1/strain kernel (stream synchronisation)"); }

private:
    int grid_size(const void* kernel, std::size_t smem, int n_items, int n_elems) {
        auto it = blocks_per_sm_.find(kernel);
        if (it == blocks_per_sm_.end()) {
            int per_sm = 0;
            cuda_check(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, kBlock, kSmemBudget),
                       "cudaOccupancyMaxActiveBlocksPerMultiprocessor");
            it = blocks_per_sm_.emplace(kernel, per_sm < 1 ? 1 : per_sm).first;
        }
        (void)smem;
        const long long chunks = static_cast<long long>(n_items) * ((n_elems + kBlock - 1) / kBlock);
        const long long full = static_cast<long long>(it->second) * sms_;
        return static_cast<int>(chunks < full ? chunks : full);
    }

    void release() noexcept {
        for (auto& ev : events_)
            if (ev) (void)cudaEventDestroy(ev), ev = nullptr;
        if (host_counts_) (void)cudaFreeHost(host_counts_), host_counts_ = nullptr;
        counts_ = DeviceArray<int>();
        if (stream_) (void)cudaStreamDestroy(stream_), stream_ = nullptr;
    }

    // Occupancy is computed for the largest gate table a launch may use, so the cached value holds for all.
    static constexpr std::size_t kSmemBudget = 4096;

    int device_ = 0;
    int sms_ = 1;
    cudaStream_t stream_ = nullptr;
    int* host_counts_ = nullptr;
    DeviceArray<int> counts_;
    cudaEvent_t events_[2] = {nullptr, nullptr};
    int next_ticket_ = 0;
    std::unordered_map<const void*, int> blocks_per_sm_;
};

}  // namespace mefast::gpu
