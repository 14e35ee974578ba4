# shellcheck shell=bash
# Sourced by the gcloud compat tests (not a test itself): gcloud_private_config DIR PROJECT gives
# the calling script's gcloud its own configuration in DIR, for PROJECT, with no prompts, no usage
# reporting, no update checks, no log files and no metadata-server probes, and with none of the
# caller's own gcloud configuration or credentials in effect.
gcloud_private_config() {
  export CLOUDSDK_CONFIG=$1
  export CLOUDSDK_CORE_PROJECT=$2
  export CLOUDSDK_CORE_DISABLE_PROMPTS=1
  export CLOUDSDK_CORE_DISABLE_USAGE_REPORTING=true
  export CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK=true
  export CLOUDSDK_CORE_DISABLE_FILE_LOGGING=true
  export CLOUDSDK_SURVEY_DISABLE_PROMPTS=true
  export CLOUDSDK_CORE_CHECK_GCE_METADATA=false
  unset CLOUDSDK_ACTIVE_CONFIG_NAME GOOGLE_APPLICATION_CREDENTIALS
  mkdir -p "$CLOUDSDK_CONFIG"
}

# gcloud_round_robin VAR ARGS...: runs gcloud ARGS. When the endpoint override in VAR names
# several nodes ("http://127.0.0.1:P1,P2/"), each call goes to the next one, counted in
# $WORK/rr (a file, since commands also run in subshells).
gcloud_round_robin() {
  local var=$1
  shift
  local o=${!var:-}
  if [[ "$o" != *,* ]]; then
    command gcloud "$@"
    return
  fi
  local ports list n
  ports=${o#http://127.0.0.1:}
  IFS=, read -ra list <<<"${ports%/}"
  n=$(
    flock 9
    n=$(cat "$WORK/rr" 2>/dev/null || echo 0)
    echo $((n + 1)) >"$WORK/rr"
    echo "$n"
  ) 9>"$WORK/rr.lock"
  (
    export "$var=http://127.0.0.1:${list[n % ${#list[@]}]}/"
    command gcloud "$@"
  )
}
