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

/// `a` itself (no copy) as a C-contiguous array of T, or std::invalid_argument naming the argument, the expected and
/// the actual dtype or layout. Kernel arguments are bound as py::array and checked here: a noconvert array_t refuses
/// the same arrays with pybind11's "incompatible function arguments" TypeError, which prints every argument.
template <class T>
carray<T> require_carray(const pybind11::array& a, const char* name) {
    namespace py = pybind11;
    if (py::isinstance<carray<T>>(a)) return py::reinterpret_borrow<carray<T>>(a);
    std::ostringstream os;
    os << name << " must be a C-contiguous " << std::string(py::str(py::dtype::of<T>())) << " array (the core never "
       << "casts or copies), got ";
    if (!py::isinstance<py::array_t<T>>(a)) {  // array_t's default flags check the dtype alone
        os << "dtype " << std::string(py::str(a.dtype()));
    } else {
        os << "a " << (a.flags() & py::array::f_style ? "Fortran-ordered" : "non-contiguous") << " array of shape "
           << shape_str(a) << " and strides (";
        for (py::ssize_t i = 0; i < a.ndim(); ++i) os << (i ? ", " : "") << a.strides(i);
        os << (a.ndim() == 1 ? ",)" : ")") << " (np.ascontiguousarray makes a C-contiguous copy)";
    }
    throw std::invalid_argument(os.str());
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
