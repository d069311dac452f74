// psgm's exceptions. Host code throws them with a message a user can act on:
// what was wrong, the value seen, and what was expected. Device code never
// throws; it records a status per batch item (see core/Status.hpp).
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace psgm {

/// Base of every exception psgm throws.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A parameter, configuration value or input field is outside what psgm accepts.
class InvalidArgument : public Error {
 public:
  using Error::Error;
};

/// A file is missing, unreadable, malformed, or would be overwritten.
class IoError : public Error {
 public:
  using Error::Error;
};

/// A numerical procedure failed in a way no status flag can carry
/// (e.g. a covariance matrix that no factorisation can handle).
class NumericalError : public Error {
 public:
  using Error::Error;
};

namespace Impl {
template <class... Parts>
std::string concat(Parts&&... parts) {
  std::ostringstream os;
  os.precision(17);
  (os << ... << std::forward<Parts>(parts));
  return os.str();
}
}  // namespace Impl

/// Throws E with the concatenated message parts unless `condition` holds.
/// Usage: require<InvalidArgument>(l > 0, "correlation length l = ", l, " must be > 0");
template <class E = InvalidArgument, class... Parts>
void require(bool condition, Parts&&... parts) {
  if (!condition) throw E(Impl::concat(std::forward<Parts>(parts)...));
}

}  // namespace psgm
