# bench_net: rotate throughput per link (encrypted vs --insecure-plaintext-links)
# and small-exchange round-trip latency, three forked parties on loopback.
caracal_bench(bench_net SOURCES ${CMAKE_CURRENT_LIST_DIR}/bench_net.cpp LIBS caracal_net WHITEBOX net)
