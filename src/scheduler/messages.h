// Cloud Scheduler's error texts where they are on record, and stratus's own where they are
// not (each says which). The list is also in docs/scheduler.md.
#pragma once

namespace stratus::scheduler::msg {

// Google's (seen in client issue reports).
inline constexpr char kJobNameFormat[] =
    "Job name must be formatted: \"projects/<PROJECT_ID>/locations/<LOCATION_ID>/jobs/<JOB_ID>\".";
inline constexpr char kJobNotFound[] = "Job not found.";
// "Job <name> already exists." is built in service.cc (Google's, HTTP 409).

// stratus's own wording (Google's text is not on record).
inline constexpr char kJobRequired[] = "Job is required.";
inline constexpr char kScheduleRequired[] = "Job.schedule is required.";
inline constexpr char kTargetRequired[] =
    "Job.httpTarget is required (stratus supports HTTP targets; pubsubTarget and appEngineHttpTarget are not "
    "implemented).";
inline constexpr char kDescriptionTooLong[] = "Job.description must not contain more than 500 characters.";
inline constexpr char kUriRequired[] = "HttpTarget.uri is required.";
inline constexpr char kUriScheme[] = "HttpTarget.uri must begin with \"http://\" or \"https://\".";
inline constexpr char kUriTooLong[] = "HttpTarget.uri must be at most 2083 characters.";
inline constexpr char kBodyMethod[] =
    "HttpTarget.body can be set only when HttpTarget.httpMethod is POST, PUT or PATCH.";
inline constexpr char kHeadersTooLarge[] = "HttpTarget.headers must be less than 80KB.";
inline constexpr char kAttemptDeadline[] =
    "Job.attemptDeadline must be between 15s and 1800s (15 seconds to 30 minutes) for an HTTP target.";
inline constexpr char kRetryCount[] = "RetryConfig.retryCount must be between 0 and 5.";
inline constexpr char kMaxRetryDuration[] = "RetryConfig.maxRetryDuration must not be negative.";
inline constexpr char kMinBackoff[] = "RetryConfig.minBackoffDuration must not be negative.";
inline constexpr char kMaxBackoff[] = "RetryConfig.maxBackoffDuration must not be negative.";
inline constexpr char kBackoffOrder[] =
    "RetryConfig.minBackoffDuration must be less than or equal to RetryConfig.maxBackoffDuration.";
inline constexpr char kMaxDoublings[] = "RetryConfig.maxDoublings must not be negative.";
inline constexpr char kQueueName[] =
    "Job.stratusQueue must be a queue ID or \"projects/<PROJECT_ID>/locations/<LOCATION_ID>/queues/<QUEUE_ID>\".";
inline constexpr char kJobTooLarge[] = "Job must be at most 1 MB.";
inline constexpr char kNameMismatch[] = "The job name in the request body must match the job name in the URL.";
inline constexpr char kInvalidPageToken[] = "Invalid page token.";
inline constexpr char kPageSize[] = "page_size must not be negative.";

}  // namespace stratus::scheduler::msg
