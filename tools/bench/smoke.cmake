# The bench's smoke test: a short run of carebank-bench against a carebankd
# of its own, which must exit 0 and print every figure it promises, with no
# failed call. Speed is not checked: ctest runs on busy and sanitized builds.
#
#   cmake -DBENCH=path -DCAREBANKD=path -DMODE=mixed|health -P smoke.cmake

if(NOT BENCH OR NOT CAREBANKD OR NOT MODE)
	message(FATAL_ERROR "usage: cmake -DBENCH=... -DCAREBANKD=... -DMODE=... -P smoke.cmake")
endif()

# Writes need a centre's records made first, as many as the requests
# prepared: keep them few. Health checks need nothing and run fast.
set(cap)
if(NOT MODE STREQUAL "health")
	set(cap -r 3000)
endif()
execute_process(
	COMMAND ${BENCH} -S ${CAREBANKD} -m ${MODE} -c 8 -n 2 -d 1 -w 0.3
		${cap} -B 0.2
	OUTPUT_VARIABLE out
	ERROR_VARIABLE err
	RESULT_VARIABLE rc)
message("${out}${err}")
if(NOT rc EQUAL 0)
	message(FATAL_ERROR "carebank-bench exited with ${rc}")
endif()

# What every run prints: calls with none failed, latency percentiles, the
# server's CPU and memory, and the crypto bound.
set(want
	"calls [1-9][0-9]* \\([0-9]+/s\\), OK [0-9]+, failed 0\n"
	"all +latency ms: p50 [0-9.]+  p90 [0-9.]+  p99 [0-9.]+  p99\\.9 [0-9.]+"
	"server: CPU [0-9.]+ s in [0-9.]+ s = [0-9]+% of one core; peak memory \\(VmHWM\\) [0-9.]+ MiB"
	"server idle: peak memory \\(VmHWM\\) [0-9.]+ MiB"
	"crypto bound: [1-9][0-9]* Ed25519 verifications/s")
if(MODE STREQUAL "mixed")
	# Writes and reads both ran, each kind without a failure.
	list(APPEND want
		"writes [1-9][0-9]*: [0-9]+ durable, verified, receipted writes/s"
		"reads [1-9][0-9]*: [0-9]+/s"
		"writes +latency ms: p50"
		"entries: mean [1-9][0-9]* bytes"
		"CheckInChild +[1-9][0-9]* +[0-9]+/s  failed 0"
		"RecordCash +[1-9][0-9]* +[0-9]+/s  failed 0")
endif()
foreach(re IN LISTS want)
	if(NOT out MATCHES "${re}")
		message(FATAL_ERROR "the output lacks /${re}/")
	endif()
endforeach()
if(out MATCHES "failed [1-9]")
	message(FATAL_ERROR "a call failed")
endif()
