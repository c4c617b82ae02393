# caracal-party: one compute party (today: link set-up and self-check).
add_executable(caracal-party ${CMAKE_CURRENT_LIST_DIR}/caracal-party.c)
target_link_libraries(caracal-party PRIVATE caracal_net)
