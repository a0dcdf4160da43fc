# Compiler flags as INTERFACE targets. Every carebank target links cb_flags,
# which carries the warnings and, when asked for, the sanitizers. Nothing here
# touches CMAKE_C_FLAGS, so a user's own flags are left alone.

add_library(cb_flags INTERFACE)
target_compile_options(cb_flags INTERFACE
	-Wall -Wextra -Wshadow -Wpointer-arith -Wstrict-prototypes
	-Wmissing-prototypes -Wformat=2 -Wvla -Wcast-qual -Wundef
	-Wno-unused-parameter)
target_compile_definitions(cb_flags INTERFACE _POSIX_C_SOURCE=200809L _DEFAULT_SOURCE)
if(CB_WERROR)
	target_compile_options(cb_flags INTERFACE -Werror)
endif()
if(CB_SANITIZE)
	target_compile_options(cb_flags INTERFACE
		-fsanitize=address,undefined -fno-sanitize-recover=all
		-fno-omit-frame-pointer)
	target_link_options(cb_flags INTERFACE -fsanitize=address,undefined)
endif()

# Generated code (protoc-c output) is compiled without our warnings.
add_library(cb_gen_flags INTERFACE)
target_compile_definitions(cb_gen_flags INTERFACE _POSIX_C_SOURCE=200809L)
if(CB_SANITIZE)
	target_compile_options(cb_gen_flags INTERFACE
		-fsanitize=address,undefined -fno-sanitize-recover=all)
	target_link_options(cb_gen_flags INTERFACE -fsanitize=address,undefined)
endif()

# libFuzzer targets: cb_fuzz_target(NAME SOURCE LIBS...) builds a fuzzer when
# CB_FUZZ is on (clang only). Corpora are replayed by ctest either way through
# the replay driver in tests/fuzz.
if(CB_FUZZ AND NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
	message(FATAL_ERROR "CB_FUZZ needs clang: configure with CC=clang")
endif()
if(CB_FUZZ)
	# Coverage for every library the targets call into, not just the
	# targets themselves.
	target_compile_options(cb_flags INTERFACE -fsanitize=fuzzer-no-link)
	target_compile_options(cb_gen_flags INTERFACE -fsanitize=fuzzer-no-link)
endif()
