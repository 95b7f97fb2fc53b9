#pragma once

#include "core/docker/secret_request.hpp"
#include "core/rules/decision.hpp"
#include "core/rules/rule.hpp"
#include "core/util/result.hpp"

namespace vsp::rules {

// What `rule` (which matched `request`) grants it, with the request's
// vsp.* labels applied. A label the rule does not accept, or one asking
// for more than the rule allows, is a denied Error saying which and why.
Result<Decision> narrow(const Rule& rule, const docker::SecretRequest& request);

} // namespace vsp::rules
