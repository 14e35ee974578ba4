// How a store keeps a Queue, a Task or a queue's stratus extensions as one JSON document.
//
// This is the storage format, not the API: it has its own reader and writer, and changing
// the REST codec (tasks/codec.h) never changes what is on disk.
//
// Format 0 is the shape stratus has always written: a Cloud Tasks v2 REST document
// (lowerCamel names, enums as names, Timestamps in RFC 3339, Durations as "<seconds>s").
// Every row an existing database holds is format 0, and new rows are written in it too, so a
// database stays readable by the stratus that wrote it. A later format adds a
// "storageFormat": N member; a document from a format newer than kStorageFormat is refused
// (FAILED_PRECONDITION) rather than misread.
//
// Reading is lenient: unknown members are ignored, enums may be names or numbers, integers
// numbers or decimal strings, and absent members read as zero (the writer writes them all).
// A document that is not a JSON object, or a member of the wrong type, is a corrupt record
// (INTERNAL "storage: corrupt <what> record").
#pragma once

#include <string>
#include <string_view>

#include "stratus/model.h"
#include "stratus/status.h"

namespace stratus::storage {

inline constexpr int kStorageFormat = 0;

// The queue without its stratus extensions, which EncodeQueueExtensions keeps apart.
std::string EncodeQueue(const Queue& queue);
std::string EncodeQueueExtensions(const QueueExtensions& ext);
// `ext` may be empty or "{}" (rows from before the extensions existed).
StatusOr<Queue> DecodeQueue(std::string_view doc, std::string_view ext);

// The task without its body (stores keep the body as bytes of its own). The attempt fields
// (dispatchCount, responseCount, firstAttempt, lastAttempt) are written only when
// `with_attempts` is set, for stores that keep them in columns.
std::string EncodeTask(const Task& task, bool with_attempts);
// A body in the document (base64, as format 0 allows) is read too; callers that keep the
// body apart put theirs in afterwards.
StatusOr<Task> DecodeTask(std::string_view doc);

}  // namespace stratus::storage
