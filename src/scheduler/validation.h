// Checks and defaults for Cloud Scheduler jobs, with Google's messages where they are on
// record (messages.h says which). Pure functions: no store, no clock.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "cron/cron.h"
#include "scheduler/job.h"

namespace stratus::scheduler {

struct JobName {
  std::string project, location, job;
  std::string Parent() const { return "projects/" + project + "/locations/" + location; }
  std::string Full() const { return Parent() + "/jobs/" + job; }
};

// projects/{p}/locations/{l}/jobs/{j}: JOB_ID is letters, digits, hyphens and underscores, at
// most 500 characters. INVALID_ARGUMENT with Google's message otherwise.
StatusOr<JobName> ParseJobName(std::string_view name);
bool ValidJobId(std::string_view id);

// Proto3 zeros become Cloud Scheduler's defaults: POST, attemptDeadline 180s, minBackoff 5s,
// maxBackoff 1h, maxDoublings 5.
void ApplyJobDefaults(Job* job);

struct JobChecks {
  // The target policy on the uri (INVALID_ARGUMENT for a literal address it denies); unset:
  // anything goes.
  std::function<Status(std::string_view url)> check_target_url;
};

// Checks a job after defaults and normalises it as Cloud Scheduler does: reserved headers
// (Host, Content-Length, X-Google-*, X-AppEngine-*, X-CloudScheduler*) are dropped,
// User-Agent becomes "Google-Cloud-Scheduler", a bare stratusQueue ID is expanded to the
// job's location. The schedule and time zone are parsed with cron.
Status ValidateJob(Job* job, const JobChecks& checks);

// The zone a job's schedule is read in: timeZone from the tz database, "" and "utc" (any
// case) as UTC.
StatusOr<const date::time_zone*> JobZone(const Job& job);

// The job's next tick strictly after `after`, in microseconds; 0 when the schedule never
// fires again.
StatusOr<Micros> NextTick(const Job& job, Micros after);

}  // namespace stratus::scheduler
