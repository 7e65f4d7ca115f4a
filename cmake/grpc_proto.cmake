# campaignq_grpc_proto(TARGET <name> ROOT <dir> FILES <path relative to ROOT>...
#                      [NO_GRPC] [COMMENT <text>])
# One rule for every .proto the build compiles: protoc's C++ messages (and,
# unless NO_GRPC, gRPC stubs) for FILES under ROOT, generated into
# <build dir>/generated-<name>/ and made into the static library <name>
# (include the headers as "<path relative to ROOT minus .proto>.pb.h").
function(campaignq_grpc_proto)
  cmake_parse_arguments(ARG "NO_GRPC" "TARGET;ROOT;COMMENT" "FILES" ${ARGN})
  set(out_dir ${CMAKE_CURRENT_BINARY_DIR}/generated-${ARG_TARGET})
  file(MAKE_DIRECTORY ${out_dir})
  set(outputs)
  set(sources)
  foreach(file ${ARG_FILES})
    string(REGEX REPLACE "\\.proto$" "" stem ${file})
    list(APPEND sources ${ARG_ROOT}/${file})
    list(APPEND outputs ${out_dir}/${stem}.pb.cc ${out_dir}/${stem}.pb.h)
    if(NOT ARG_NO_GRPC)
      list(APPEND outputs ${out_dir}/${stem}.grpc.pb.cc ${out_dir}/${stem}.grpc.pb.h)
    endif()
  endforeach()
  set(grpc_args)
  if(NOT ARG_NO_GRPC)
    set(grpc_args --grpc_out=${out_dir}
        --plugin=protoc-gen-grpc=$<TARGET_FILE:gRPC::grpc_cpp_plugin>)
  endif()
  if(NOT ARG_COMMENT)
    set(ARG_COMMENT "protoc ${ARG_TARGET}")
  endif()
  add_custom_command(
    OUTPUT ${outputs}
    COMMAND protobuf::protoc --proto_path=${ARG_ROOT} --cpp_out=${out_dir} ${grpc_args}
            ${sources}
    DEPENDS ${sources}
    COMMENT "${ARG_COMMENT}")
  add_library(${ARG_TARGET} ${outputs})
  target_include_directories(${ARG_TARGET} PUBLIC ${out_dir})
  target_link_libraries(${ARG_TARGET} PUBLIC protobuf::libprotobuf)
  if(NOT ARG_NO_GRPC)
    target_link_libraries(${ARG_TARGET} PUBLIC gRPC::grpc++)
  endif()
endfunction()
