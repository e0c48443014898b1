#pragma once

// The one result type at component boundaries: a value or an AwsError.
// boost::system::result keeps the error path allocation-free and works across
// co_await without exceptions.

#include <boost/system/result.hpp>

#include "nimbus/core/aws_error.h"

namespace nimbus {

template <class T>
using Result = boost::system::result<T, AwsError>;

// A Result<void> success: `return ok();`.
inline Result<void> ok() { return {}; }

}  // namespace nimbus
