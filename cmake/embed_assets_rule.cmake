# campaignq_embed_assets(OUTPUT <generated .cc> FILES <asset files...>)
# The build rule that runs cmake/embed_assets.cmake: the console's static
# files compiled into the server, rebuilt when one of them changes.
function(campaignq_embed_assets)
  cmake_parse_arguments(ARG "" "OUTPUT" "FILES" ${ARGN})
  string(REPLACE ";" "|" joined "${ARG_FILES}")
  add_custom_command(
    OUTPUT ${ARG_OUTPUT}
    COMMAND ${CMAKE_COMMAND} "-DFILES=${joined}" -DOUT=${ARG_OUTPUT}
            -P ${CMAKE_SOURCE_DIR}/cmake/embed_assets.cmake
    DEPENDS ${ARG_FILES} ${CMAKE_SOURCE_DIR}/cmake/embed_assets.cmake
    COMMENT "embed server/console/assets"
    VERBATIM)
endfunction()
