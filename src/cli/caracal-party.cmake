# caracal-party: one compute party (serves secure inference; self-check without weights).
add_executable(caracal-party ${CMAKE_CURRENT_LIST_DIR}/caracal-party.c)
target_link_libraries(caracal-party PRIVATE caracal_cli_num caracal_job)

# `cmake --install`: the program and its systemd unit template.  The unit
# lives next to the program it runs (not under docs/ or third_party/): it is
# part of how caracal-party is shipped, its ExecStart names the installed
# binary, and the two change together.
install(TARGETS caracal-party RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
set(CARACAL_SYSTEMD_UNIT_DIR "lib/systemd/system" CACHE STRING
    "Where cmake --install puts caracal-party@.service (relative: under the prefix)")
# The unit names the installed program, so it is filled in at install time,
# when `cmake --install --prefix P` has fixed where that is.
install(CODE "
  set(CARACAL_BIN_DIR \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}\")
  set(CARACAL_DOC_DIR \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_DOCDIR}\")
  configure_file(\"${CMAKE_CURRENT_LIST_DIR}/caracal-party@.service.in\"
                 \"${CMAKE_BINARY_DIR}/systemd/caracal-party@.service\" @ONLY)")
install(FILES ${CMAKE_BINARY_DIR}/systemd/caracal-party@.service
        DESTINATION ${CARACAL_SYSTEMD_UNIT_DIR})
install(FILES ${PROJECT_SOURCE_DIR}/docs/DEPLOY.md ${PROJECT_SOURCE_DIR}/docs/NETWORK.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
