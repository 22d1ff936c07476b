// Binding a C++ parameter struct as a Python class: one line per field, a keyword constructor, validate(), a repr
// and the tuple _fields of field names. Values are converted once, by the field's setter, with a ValueError that
// names the field on a value of the wrong type; the rules on the values live only in the struct's C++ validate().
//
//   py::class_<tvl1::Params> c(m, "TVL1Params", "...");
//   field(c, "tau", &tvl1::Params::tau, "time step of the dual ascent");
//   ...
//   finish_struct(c, [](const tvl1::Params& p) { tvl1::validate(p); });
#pragma once

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <initializer_list>
#include <limits>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace mefast::bindings {

namespace detail {

template <class M>
const char* kind() {
    if constexpr (std::is_same_v<M, bool>)
        return "True or False";
    else if constexpr (std::is_integral_v<M>)
        return "an integer";
    else
        return "a real number";
}

inline std::string class_name(const pybind11::handle& self) {
    return pybind11::str(pybind11::type::handle_of(self).attr("__name__"));
}

/// repr(value) for a message: an array as its shape and dtype, any other repr beyond 80 characters cut at 60.
inline std::string short_repr(const pybind11::handle& value) {
    if (pybind11::hasattr(value, "shape") && pybind11::hasattr(value, "dtype") &&
        !pybind11::isinstance<pybind11::int_>(value) && !pybind11::isinstance<pybind11::float_>(value)) {
        std::string r = pybind11::repr(value);  // a NumPy scalar has a shape too; its repr is short
        if (r.size() <= 80) return r;
        return "array of shape " + std::string(pybind11::str(value.attr("shape"))) + " and dtype " +
               std::string(pybind11::str(value.attr("dtype")));
    }
    const std::string r = pybind11::repr(value);  // UTF-8: count and cut characters, not bytes
    std::size_t chars = 0, cut = r.size();
    for (std::size_t i = 0; i < r.size(); ++i) {
        if ((static_cast<unsigned char>(r[i]) & 0xC0) == 0x80) continue;  // a continuation byte
        if (chars == 60) cut = i;
        ++chars;
    }
    if (chars <= 80) return r;
    return r.substr(0, cut) + "... (" + std::to_string(chars) + " characters)";
}

[[noreturn]] inline void wrong_value(const pybind11::handle& self, const char* name, const pybind11::handle& value,
                                     const std::string& rule) {
    throw std::invalid_argument(class_name(self) + "." + name + "=" + short_repr(value) + " is invalid: " + rule);
}

/// value as an M (no bool for a number, no float for an integer), or a ValueError naming the field.
template <class M>
M to_field(const pybind11::handle& self, const char* name, const pybind11::handle& value) {
    const std::string type = pybind11::str(pybind11::type::handle_of(value).attr("__name__"));
    const bool is_bool = type == "bool" || type == "bool_";  // Python's and numpy's
    if (is_bool != std::is_same_v<M, bool>) wrong_value(self, name, value, std::string("must be ") + kind<M>());
    try {
        return value.cast<M>();
    } catch (const pybind11::cast_error&) {
        if constexpr (std::is_integral_v<M> && !std::is_same_v<M, bool>) {
            // An integer (Python's, NumPy's: operator.index works) that M cannot hold.
            if (pybind11::reinterpret_steal<pybind11::object>(PyNumber_Index(value.ptr()))) {
                std::ostringstream rule;
                rule << "must be an integer in [" << +std::numeric_limits<M>::min() << ", "
                     << +std::numeric_limits<M>::max() << "] (out of range)";
                wrong_value(self, name, value, rule.str());
            }
            PyErr_Clear();  // not an integer (an array of several, a float): the TypeError of operator.index
        }
        wrong_value(self, name, value, std::string("must be ") + kind<M>());
    }
}

}  // namespace detail

/// A float32 value as the Python float with the same shortest decimal form (0.2f reads as 0.2, not as
/// 0.20000000298023224), so a struct built from Python floats compares equal to them.
inline double shortest(float v) {
    if (!std::isfinite(v)) return v;
    char buf[64];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    double d = 0.0;
    std::from_chars(buf, r.ptr, d);
    return d;
}

/// A scalar field (bool, int, float or double member).
template <class T, class M>
void field(pybind11::class_<T>& c, const std::string& name, M T::*member, const std::string& doc) {
    c.def_property(
        name.c_str(),
        [member](const T& s) {
            if constexpr (std::is_same_v<M, float>)
                return shortest(s.*member);
            else
                return s.*member;
        },
        [member, name](pybind11::object self, const pybind11::handle& value) {
            self.cast<T&>().*member = detail::to_field<M>(self, name.c_str(), value);
        },
        doc.c_str());
}

/// A group of scalar fields of type M and one meaning, named <prefix>_<part> (a filter's coefficients b0, b1, a1):
/// the first documented "<doc>: <part>", the others "... <part>". M is named: field_group<double>(c, ...).
template <class M, class T>
void field_group(pybind11::class_<T>& c, const std::string& prefix, const std::string& doc,
                 std::initializer_list<std::pair<const char*, M T::*>> parts) {
    std::string part_doc = doc + ": ";
    for (const auto& [part, member] : parts) {
        field(c, prefix + "_" + part, member, part_doc + part);
        part_doc = "... ";
    }
}

/// A field of N integers (a C array member), read as a tuple.
template <class T, std::size_t N>
void field(pybind11::class_<T>& c, const char* name, int (T::*member)[N], const char* doc) {
    c.def_property(
        name,
        [member](const T& s) {
            pybind11::tuple t(N);
            for (std::size_t i = 0; i < N; ++i) t[i] = (s.*member)[i];
            return t;
        },
        [member, name](pybind11::object self, const pybind11::handle& value) {
            std::array<int, N> v{};
            std::ostringstream rule;
            rule << "must be " << N << " integers";
            if (!pybind11::isinstance<pybind11::sequence>(value) || pybind11::len(value) != N)
                detail::wrong_value(self, name, value, rule.str());
            auto seq = pybind11::reinterpret_borrow<pybind11::sequence>(value);
            for (std::size_t i = 0; i < N; ++i) v[i] = detail::to_field<int>(self, name, seq[i]);
            std::copy(v.begin(), v.end(), self.cast<T&>().*member);
        },
        doc);
}

/// A field of any number of scalars (a std::vector member), read as a list.
template <class T, class M>
void field(pybind11::class_<T>& c, const char* name, std::vector<M> T::*member, const char* doc) {
    c.def_property(
        name,
        [member](const T& s) {
            pybind11::list l;
            for (const M& v : s.*member) {
                if constexpr (std::is_same_v<M, float>)
                    l.append(shortest(v));
                else
                    l.append(v);
            }
            return l;
        },
        [member, name](pybind11::object self, const pybind11::handle& value) {
            const std::string rule =
                std::string("must be a sequence of ") + (std::is_integral_v<M> ? "integers" : "real numbers");
            if (!pybind11::isinstance<pybind11::sequence>(value) || pybind11::isinstance<pybind11::str>(value) ||
                pybind11::isinstance<pybind11::bytes>(value))
                detail::wrong_value(self, name, value, rule);
            auto seq = pybind11::reinterpret_borrow<pybind11::sequence>(value);
            std::vector<M> v;
            v.reserve(pybind11::len(seq));
            for (const auto item : seq) {
                try {
                    v.push_back(detail::to_field<M>(self, name, item));
                } catch (const std::invalid_argument&) {
                    detail::wrong_value(self, name, value, rule);
                }
            }
            self.cast<T&>().*member = std::move(v);
        },
        doc);
}

/// An enum field, read and written as one of its names.
template <class T, class E>
void enum_field(pybind11::class_<T>& c, const char* name, E T::*member,
                std::initializer_list<std::pair<const char*, E>> names, const char* doc) {
    std::vector<std::pair<std::string, E>> table(names.begin(), names.end());
    c.def_property(
        name,
        [member, table](const T& s) {
            for (const auto& [n, v] : table)
                if (v == s.*member) return n;
            throw std::invalid_argument("unknown enum value");
        },
        [member, table, name](pybind11::object self, const pybind11::handle& value) {
            const std::string v = pybind11::isinstance<pybind11::str>(value) ? value.cast<std::string>() : "";
            std::ostringstream all;
            for (const auto& [n, e] : table) {
                if (v == n && pybind11::isinstance<pybind11::str>(value)) {
                    self.cast<T&>().*member = e;
                    return;
                }
                all << (all.tellp() > 0 ? ", " : "") << "'" << n << "'";
            }
            std::string choices = all.str();
            if (table.size() == 2) choices = "'" + table[0].first + "' or '" + table[1].first + "'";
            else choices = "one of " + choices;
            throw std::invalid_argument(std::string(name) + " must be " + choices + ", got " +
                                        detail::short_repr(value));
        },
        doc);
}

/// The keyword constructor (unknown names raise AttributeError), validate(), __repr__ and _fields, after the
/// fields are bound.
template <class T, class Validate>
void finish_struct(pybind11::class_<T>& c, Validate validate) {
    namespace py = pybind11;
    std::vector<std::string> names;
    const py::object property = py::module_::import("builtins").attr("property");
    const py::object items = c.attr("__dict__").attr("items")();
    for (py::handle item : items) {
        const auto kv = py::reinterpret_borrow<py::tuple>(item);
        if (py::isinstance(kv[1], property)) names.push_back(py::str(kv[0]));
    }
    c.attr("_fields") = py::tuple(py::cast(names));
    c.def(py::init([](const py::kwargs& kw) {
              auto p = std::make_unique<T>();
              {
                  py::object o = py::cast(p.get(), py::return_value_policy::reference);
                  for (auto item : kw) py::setattr(o, item.first, item.second);
              }
              return p;
          }),
          "Defaults, then each keyword set as its attribute (a ValueError names a value of the wrong type).");
    c.def("validate", [validate](const T& p) { validate(p); },
          "Raise ValueError naming the first parameter that breaks the C++ core's rules.");
    c.def("__repr__", [names](const py::object& self) {
        std::string s = detail::class_name(self) + "(";
        for (std::size_t i = 0; i < names.size(); ++i)
            s += (i ? ", " : "") + names[i] + "=" + std::string(py::repr(self.attr(names[i].c_str())));
        return s + ")";
    });
    c.def(py::pickle(
        [names](const py::object& self) {
            py::dict d;
            for (const auto& n : names) d[n.c_str()] = self.attr(n.c_str());
            return d;
        },
        [names](const py::dict& d) {
            auto p = std::make_unique<T>();
            {
                py::object o = py::cast(p.get(), py::return_value_policy::reference);
                for (auto item : d) py::setattr(o, item.first, item.second);
            }
            return p;
        }));
}

}  // namespace mefast::bindings
