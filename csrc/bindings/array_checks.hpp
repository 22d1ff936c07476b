// Boundary checks shared by the bindings: shapes are validated with the GIL held, before any work starts.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>

namespace mefast::bindings {

template <class T>
using carray = pybind11::array_t<T, pybind11::array::c_style>;

inline std::string shape_str(const pybind11::array& a) {
    std::ostringstream os;
    os << "(";
    for (pybind11::ssize_t i = 0; i < a.ndim(); ++i) os << (i ? ", " : "") << a.shape(i);
    if (a.ndim() == 1) os << ",";
    os << ")";
    return os.str();
}

inline void require_ndim(const pybind11::array& a, pybind11::ssize_t ndim, const char* name) {
    if (a.ndim() != ndim) {
        std::ostringstream os;
        os << name << " must have " << ndim << " dimensions, got shape " << shape_str(a);
        throw std::invalid_argument(os.str());
    }
}

/// Extent of axis `axis` as the int the kernels index with; throws instead of silently truncating an axis
/// longer than INT_MAX (the kernel would then read a different, smaller array than the one passed).
inline int int_extent(const pybind11::array& a, pybind11::ssize_t axis, const char* name) {
    const pybind11::ssize_t n = a.shape(axis);
    if (n > static_cast<pybind11::ssize_t>(std::numeric_limits<int>::max())) {
        std::ostringstream os;
        os << name << " of shape " << shape_str(a) << " is too large: axis " << axis << " must have at most "
           << std::numeric_limits<int>::max() << " elements";
        throw std::invalid_argument(os.str());
    }
    return static_cast<int>(n);
}

/// Backends whose kernels index with 32-bit integers (Backend::index32, the CUDA ones) refuse an array of `count`
/// items of `per_item` elements (or bytes) when either does not fit an int.
template <class Backend>
void require_index32(const pybind11::array& a, const char* name, pybind11::ssize_t count, pybind11::ssize_t per_item) {
    if constexpr (Backend::index32) {
        constexpr auto lim = static_cast<pybind11::ssize_t>(std::numeric_limits<int>::max());
        if (count > lim || per_item > lim)
            throw std::invalid_argument(std::string(name) + " " + shape_str(a) + " are too large for the " +
                                        Backend::name + " backend");
    }
}

}  // namespace mefast::bindings
