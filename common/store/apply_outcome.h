#pragma once
// What an Apply's row of ApplicationInsertBatch means for the caller.

#include <cstdint>
#include <pqxx/row>
#include <string>

#include "absl/status/statusor.h"
#include "campaignq/v1/campaignq.pb.h"
#include "common/db/transaction.h"

namespace campaignq::store {

// `row`: position, the campaign's status (NULL: no such campaign), then the
// inserted application's columns (NULL when nothing was inserted), then the
// campaign's opens_at. Returns
// the new application; NOT_FOUND for an unknown campaign; ALREADY_EXISTS
// naming the existing application (looked up in `txn`) when the user had
// applied; FAILED_PRECONDITION when the campaign is closed or not yet open
// (the message names the opening time). An existing
// application wins over "closed", so that a retried Apply learns its id.
absl::StatusOr<v1::Application> ApplyOutcome(db::ReadCommittedTransaction& txn, int64_t campaign_id,
                                             const std::string& user_id, const pqxx::row& row);

}  // namespace campaignq::store
