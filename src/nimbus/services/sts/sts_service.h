#pragma once

// AWS Security Token Service (awsQuery, API version 2011-06-15). The AWS CLI,
// the SDKs and SAM call GetCallerIdentity first to learn the account.

#include <memory>

#include "nimbus/aws/service.h"

namespace nimbus::services::sts {

std::unique_ptr<aws::Service> make_sts_service();

}  // namespace nimbus::services::sts
