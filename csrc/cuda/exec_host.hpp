// A sequential executor with CudaExec's interface: it runs the GPU schedule (tvl1_driver.hpp) and the very
// functors the kernels run, on the CPU, so tests check them without a GPU. To expose any dependence of an
// element on another element written by the same launch (which a GPU would race on), it visits the elements
// of each item in a shuffled order; new buffers are filled with NaN, as uninitialised device memory would
// poison whatever reads it before it is written.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <limits>
#include <numeric>
#include <random>
#include <type_traits>
#include <vector>

#include "ops_common.hpp"

namespace mefast::gpu {

class HostExec {
public:
    enum class Order { forward, reverse, shuffled };

    template <class T>
    class Array {
    public:
        explicit Array(std::size_t n) : v_(n) {
            if constexpr (std::is_floating_point_v<T>) {
                std::fill(v_.begin(), v_.end(), std::numeric_limits<T>::quiet_NaN());
            } else if constexpr (std::is_integral_v<T>) {
                std::fill(v_.begin(), v_.end(), static_cast<T>(0x5a5a5a5a));
            } else {
                std::memset(static_cast<void*>(v_.data()), 0xff, v_.size() * sizeof(T));  // NaN floats
            }
        }
        T* data() { return v_.empty() ? nullptr : v_.data(); }

    private:
        std::vector<T> v_;
    };

    explicit HostExec(Order order = Order::shuffled, unsigned seed = 12345) : order_(order), rng_(seed) {}

    template <class T>
    Array<T> alloc(std::size_t n) {
        return Array<T>(n);
    }
    template <class T>
    void upload(T* dst, const T* src, std::size_t n) {
        if (n) std::memcpy(static_cast<void*>(dst), src, n * sizeof(T));
    }
    template <class T>
    void download(T* dst, const T* src, std::size_t n) {
        if (n) std::memcpy(static_cast<void*>(dst), src, n * sizeof(T));
    }
    template <class T>
    void fill_zero(T* dst, std::size_t n) {
        if (n) std::memset(static_cast<void*>(dst), 0, n * sizeof(T));
    }
    std::size_t free_memory() const { return std::size_t{1} << 34; }

    template <class Gate, class Op>
    void for_each(int n_items, int n_elems, const Gate& gate, const Op& op) {
        const auto active = gates(n_items, gate);
        for (int k = 0; k < n_items; ++k) {
            if (!active[static_cast<std::size_t>(k)]) continue;
            for (int i : order(n_elems)) op(k, i);
        }
        ++launches_;
    }

    // sums[3 k + slot] += sum over elements of op(k, i) for active items; sums[3 k + clear] = 0 for all items.
    template <class Gate, class Op>
    void for_each_sum(int n_items, int n_elems, const Gate& gate, const Op& op, double* sums, int slot, int clear) {
        const auto active = gates(n_items, gate);
        for (int k = 0; k < n_items; ++k) sums[3 * static_cast<index_t>(k) + clear] = 0.0;
        for (int k = 0; k < n_items; ++k) {
            if (!active[static_cast<std::size_t>(k)]) continue;
            double s = 0.0;
            for (int i : order(n_elems)) s += static_cast<double>(op(k, i));
            sums[3 * static_cast<index_t>(k) + slot] += s;
        }
        ++launches_;
    }

    // Number of items whose error slot exceeds eps, returned by poll_result(ticket).
    int poll_post(const double* err, int slot, double eps, int n_items) {
        int count = 0;
        for (int k = 0; k < n_items; ++k) count += err[3 * static_cast<index_t>(k) + slot] > eps ? 1 : 0;
        polls_[static_cast<std::size_t>(next_ticket_ % 2)] = count;
        return next_ticket_++;
    }
    int poll_result(int ticket) const { return polls_[static_cast<std::size_t>(ticket % 2)]; }
    void finish() {}

    long launches() const { return launches_; }

private:
    template <class Gate>
    std::vector<char> gates(int n_items, const Gate& gate) const {
        std::vector<char> a(static_cast<std::size_t>(n_items));
        for (int k = 0; k < n_items; ++k) a[static_cast<std::size_t>(k)] = gate(k) ? 1 : 0;
        return a;
    }

    const std::vector<int>& order(int n) {
        if (static_cast<int>(idx_.size()) != n) {
            idx_.resize(static_cast<std::size_t>(n));
            std::iota(idx_.begin(), idx_.end(), 0);
            if (order_ == Order::reverse) std::reverse(idx_.begin(), idx_.end());
        }
        if (order_ == Order::shuffled) std::shuffle(idx_.begin(), idx_.end(), rng_);
        return idx_;
    }

    Order order_;
    std::mt19937 rng_;
    std::vector<int> idx_;
    int polls_[2] = {0, 0};
    int next_ticket_ = 0;
    long launches_ = 0;
};

}  // namespace mefast::gpu
