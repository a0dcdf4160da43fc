# cb_proto_library(NAME target IMPORT_DIR dir PROTOS a.proto ...
#                  [DESCRIPTOR_SET symbol])
#
# Compiles .proto files (paths relative to IMPORT_DIR) with protoc-c into a
# static library. Generated headers are included as "<path>.pb-c.h". With
# DESCRIPTOR_SET, the FileDescriptorSet of the protos and everything they import
# is produced too and embedded as `const unsigned char symbol[]` and
# `const size_t symbol_len`, for server reflection.

set(CB_PROTO_GEN_DIR ${CMAKE_BINARY_DIR}/proto-gen)

function(cb_proto_library)
	cmake_parse_arguments(P "" "NAME;IMPORT_DIR;DESCRIPTOR_SET" "PROTOS" ${ARGN})
	set(srcs)
	set(abs)
	foreach(proto ${P_PROTOS})
		string(REGEX REPLACE "\\.proto$" "" base ${proto})
		set(c ${CB_PROTO_GEN_DIR}/${base}.pb-c.c)
		set(h ${CB_PROTO_GEN_DIR}/${base}.pb-c.h)
		add_custom_command(
			OUTPUT ${c} ${h}
			COMMAND ${CMAKE_COMMAND} -E make_directory ${CB_PROTO_GEN_DIR}
			COMMAND ${PROTOC_C} -I${P_IMPORT_DIR} --c_out=${CB_PROTO_GEN_DIR} ${proto}
			WORKING_DIRECTORY ${P_IMPORT_DIR}
			DEPENDS ${P_IMPORT_DIR}/${proto}
			COMMENT "protoc-c ${proto}"
			VERBATIM)
		list(APPEND srcs ${c})
		list(APPEND abs ${P_IMPORT_DIR}/${proto})
	endforeach()
	if(P_DESCRIPTOR_SET)
		set(pb ${CB_PROTO_GEN_DIR}/${P_DESCRIPTOR_SET}.pb)
		set(dc ${CB_PROTO_GEN_DIR}/${P_DESCRIPTOR_SET}.c)
		add_custom_command(
			OUTPUT ${pb}
			COMMAND ${CMAKE_COMMAND} -E make_directory ${CB_PROTO_GEN_DIR}
			COMMAND ${PROTOC_C} -I${P_IMPORT_DIR} --include_imports
				--descriptor_set_out=${pb} ${P_PROTOS}
			WORKING_DIRECTORY ${P_IMPORT_DIR}
			DEPENDS ${abs}
			COMMENT "descriptor set ${P_DESCRIPTOR_SET}"
			VERBATIM)
		add_custom_command(
			OUTPUT ${dc}
			COMMAND ${CMAKE_COMMAND} -DIN=${pb} -DOUT=${dc}
				-DSYMBOL=${P_DESCRIPTOR_SET}
				-P ${CMAKE_SOURCE_DIR}/cmake/Embed.cmake
			DEPENDS ${pb} ${CMAKE_SOURCE_DIR}/cmake/Embed.cmake
			COMMENT "embed ${P_DESCRIPTOR_SET}"
			VERBATIM)
		list(APPEND srcs ${dc})
	endif()
	add_library(${P_NAME} STATIC ${srcs})
	# SYSTEM: protoc-c's INIT macros cast away const; that is theirs to fix.
	target_include_directories(${P_NAME} SYSTEM PUBLIC ${CB_PROTO_GEN_DIR})
	target_link_libraries(${P_NAME} PUBLIC PkgConfig::PROTOBUFC PRIVATE cb_gen_flags)
	set_target_properties(${P_NAME} PROPERTIES POSITION_INDEPENDENT_CODE ON)
endfunction()
