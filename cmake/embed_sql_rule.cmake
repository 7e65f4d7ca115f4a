# campaignq_embed_sql(MODE <variable> DIR <output dir> OUTPUTS <files...>
#                     FILES <sql files...> COMMENT <text>)
# The one build rule that runs cmake/embed_sql.cmake: the service's catalogue
# (MODE OUT_DIR), the race lab's (LAB_OUT_DIR) and the verification kit's
# checks (CHECKS_OUT_DIR), each rebuilt when one of its SQL files changes.
function(campaignq_embed_sql)
  cmake_parse_arguments(ARG "" "MODE;DIR;COMMENT" "OUTPUTS;FILES" ${ARGN})
  file(MAKE_DIRECTORY ${ARG_DIR})
  add_custom_command(
    OUTPUT ${ARG_OUTPUTS}
    COMMAND ${CMAKE_COMMAND} -DSQL_DIR=${CMAKE_SOURCE_DIR}/sql -D${ARG_MODE}=${ARG_DIR}
            -P ${CMAKE_SOURCE_DIR}/cmake/embed_sql.cmake
    DEPENDS ${ARG_FILES} ${CMAKE_SOURCE_DIR}/cmake/embed_sql.cmake
    COMMENT "${ARG_COMMENT}")
endfunction()
