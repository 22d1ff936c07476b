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

}  // namespace mefast::bindings
