/* Layout snapshot of every public struct on x86_64 / LP64 (ABI-RULES R24 c): an accidental
 * insert, reorder or retype of a member changes an offset and fails the build. Appending a
 * member is fine: add its line and update the size. Regenerate the numbers with offsetof when a
 * struct legitimately grows, never to make a reorder pass.
 *
 * Included after orbitmesh.h and a plugin ABI header, from C11 and from C++17. With
 * OM_LAYOUT_ABI_1_0 defined (the frozen 1.0 header) the ABI 1.1 members are left out and the
 * 1.0 sizes are checked instead: each equals the offset of the first 1.1 addition, which is
 * what "append only" means. */
#ifndef OM_TEST_ABI_LAYOUT_H
#define OM_TEST_ABI_LAYOUT_H

#include <stddef.h>

#if defined(__x86_64__) && defined(__LP64__)

#if defined(__cplusplus)
#  define OM_LAYOUT_ASSERT(cond, what) static_assert(cond, what)
#else
#  define OM_LAYOUT_ASSERT(cond, what) _Static_assert(cond, what)
#endif
#define OM_LAYOUT_SIZE(type, size) OM_LAYOUT_ASSERT(sizeof(type) == (size), "sizeof(" #type ") changed");
#define OM_LAYOUT_OFFSET(type, member, offset) \
    OM_LAYOUT_ASSERT(offsetof(type, member) == (offset), "offset of " #type "." #member " changed");

/* om_event (0.2 size 72; the 0.3 fields start at its tail padding; 0.3 size 80) */
OM_LAYOUT_SIZE(om_event, 88)
OM_LAYOUT_OFFSET(om_event, struct_size, 0)
OM_LAYOUT_OFFSET(om_event, type, 4)
OM_LAYOUT_OFFSET(om_event, peer_id, 8)
OM_LAYOUT_OFFSET(om_event, address, 16)
OM_LAYOUT_OFFSET(om_event, data, 24)
OM_LAYOUT_OFFSET(om_event, len, 32)
OM_LAYOUT_OFFSET(om_event, status, 40)
OM_LAYOUT_OFFSET(om_event, message, 48)
OM_LAYOUT_OFFSET(om_event, timestamp_us, 56)
OM_LAYOUT_OFFSET(om_event, delivery_mode, 64) /* C ABI 1.1 */
OM_LAYOUT_OFFSET(om_event, peer_status, 68) /* 0.3 */
OM_LAYOUT_OFFSET(om_event, transport, 72)
OM_LAYOUT_OFFSET(om_event, strategy, 76)
OM_LAYOUT_OFFSET(om_event, channel, 80) /* 0.4 */

/* om_peer_state (C ABI 1.1) */
OM_LAYOUT_SIZE(om_peer_state, 1480)
OM_LAYOUT_OFFSET(om_peer_state, struct_size, 0)
OM_LAYOUT_OFFSET(om_peer_state, status, 4)
OM_LAYOUT_OFFSET(om_peer_state, active_transport, 8)
OM_LAYOUT_OFFSET(om_peer_state, strategy, 12)
OM_LAYOUT_OFFSET(om_peer_state, local_nat, 16)
OM_LAYOUT_OFFSET(om_peer_state, remote_nat, 20)
OM_LAYOUT_OFFSET(om_peer_state, local_candidate, 24)
OM_LAYOUT_OFFSET(om_peer_state, remote_candidate, 280)
OM_LAYOUT_OFFSET(om_peer_state, connect_ms, 536)
OM_LAYOUT_OFFSET(om_peer_state, rtt_ms, 544)
OM_LAYOUT_OFFSET(om_peer_state, bytes_sent, 552)
OM_LAYOUT_OFFSET(om_peer_state, bytes_received, 560)
OM_LAYOUT_OFFSET(om_peer_state, messages_sent, 568)
OM_LAYOUT_OFFSET(om_peer_state, messages_received, 576)
OM_LAYOUT_OFFSET(om_peer_state, packet_loss, 584)
OM_LAYOUT_OFFSET(om_peer_state, diagnosis, 592)
OM_LAYOUT_OFFSET(om_peer_state, planned_strategy, 1104) /* 0.3: 0.2's size */
OM_LAYOUT_OFFSET(om_peer_state, pairs_checked, 1108)
OM_LAYOUT_OFFSET(om_peer_state, checks_sent, 1112)
OM_LAYOUT_OFFSET(om_peer_state, checks_received, 1120)
OM_LAYOUT_OFFSET(om_peer_state, last_heard_ms, 1128)
OM_LAYOUT_OFFSET(om_peer_state, rtt_var_ms, 1136) /* 0.4: 0.3's size */
OM_LAYOUT_OFFSET(om_peer_state, min_rtt_ms, 1144)
OM_LAYOUT_OFFSET(om_peer_state, cwnd, 1152)
OM_LAYOUT_OFFSET(om_peer_state, bytes_in_flight, 1160)
OM_LAYOUT_OFFSET(om_peer_state, packets_sent, 1168)
OM_LAYOUT_OFFSET(om_peer_state, packets_received, 1176)
OM_LAYOUT_OFFSET(om_peer_state, packets_lost, 1184)
OM_LAYOUT_OFFSET(om_peer_state, retransmits, 1192)
OM_LAYOUT_OFFSET(om_peer_state, send_queue_bytes, 1200)
OM_LAYOUT_OFFSET(om_peer_state, congestion_control, 1208)
OM_LAYOUT_OFFSET(om_peer_state, cipher_suite, 1224)
OM_LAYOUT_OFFSET(om_peer_state, local_fingerprint, 1288)
OM_LAYOUT_OFFSET(om_peer_state, remote_fingerprint, 1384)

/* om_agent_options */
OM_LAYOUT_SIZE(om_agent_options, 240)
OM_LAYOUT_OFFSET(om_agent_options, struct_size, 0)
OM_LAYOUT_OFFSET(om_agent_options, server_url, 8)
OM_LAYOUT_OFFSET(om_agent_options, agent_id, 16)
OM_LAYOUT_OFFSET(om_agent_options, token, 24)
OM_LAYOUT_OFFSET(om_agent_options, prefer_p2p, 32)
OM_LAYOUT_OFFSET(om_agent_options, fallback_to_relay, 36)
OM_LAYOUT_OFFSET(om_agent_options, stun_server, 40)
OM_LAYOUT_OFFSET(om_agent_options, stun_port, 48)
OM_LAYOUT_OFFSET(om_agent_options, turn_server, 56)
OM_LAYOUT_OFFSET(om_agent_options, turn_port, 64)
OM_LAYOUT_OFFSET(om_agent_options, turn_username, 72)
OM_LAYOUT_OFFSET(om_agent_options, turn_password, 80)
OM_LAYOUT_OFFSET(om_agent_options, connection_timeout_ms, 88)
OM_LAYOUT_OFFSET(om_agent_options, nat_punch_retries, 92)
OM_LAYOUT_OFFSET(om_agent_options, nat_punch_interval_ms, 96)
OM_LAYOUT_OFFSET(om_agent_options, keep_alive_interval_ms, 100)
OM_LAYOUT_OFFSET(om_agent_options, disconnect_timeout_ms, 104)
OM_LAYOUT_OFFSET(om_agent_options, max_mtu, 108)
OM_LAYOUT_OFFSET(om_agent_options, enable_unreliable_delivery, 112)
OM_LAYOUT_OFFSET(om_agent_options, enable_reliable_delivery, 116)
OM_LAYOUT_OFFSET(om_agent_options, bind_address, 120)
OM_LAYOUT_OFFSET(om_agent_options, transport_plugin, 128)
OM_LAYOUT_OFFSET(om_agent_options, nat_discovery_plugin, 136)
OM_LAYOUT_OFFSET(om_agent_options, strategy_plugin, 144)
OM_LAYOUT_OFFSET(om_agent_options, turn_plugin, 152)
OM_LAYOUT_OFFSET(om_agent_options, delivery_plugin, 160)
OM_LAYOUT_OFFSET(om_agent_options, plugin_options, 168)
OM_LAYOUT_OFFSET(om_agent_options, on_event, 176)
OM_LAYOUT_OFFSET(om_agent_options, user_data, 184)
OM_LAYOUT_OFFSET(om_agent_options, user_data_free, 192)
OM_LAYOUT_OFFSET(om_agent_options, event_mode, 200)
OM_LAYOUT_OFFSET(om_agent_options, accept_peer, 208) /* 0.3: 0.2's size (after padding) */
OM_LAYOUT_OFFSET(om_agent_options, exclude_interfaces, 216)
OM_LAYOUT_OFFSET(om_agent_options, identity_file, 224) /* 0.4: 0.3's size */
OM_LAYOUT_OFFSET(om_agent_options, busy_poll_us, 232)
OM_LAYOUT_OFFSET(om_agent_options, reserved0, 236)

/* om_candidate (0.3) */
OM_LAYOUT_SIZE(om_candidate, 244)
OM_LAYOUT_OFFSET(om_candidate, struct_size, 0)
OM_LAYOUT_OFFSET(om_candidate, type, 4)
OM_LAYOUT_OFFSET(om_candidate, address, 8)
OM_LAYOUT_OFFSET(om_candidate, related_address, 72)
OM_LAYOUT_OFFSET(om_candidate, relay_server, 136)
OM_LAYOUT_OFFSET(om_candidate, foundation, 200)
OM_LAYOUT_OFFSET(om_candidate, priority, 236)
OM_LAYOUT_OFFSET(om_candidate, component, 240)

/* om_server_options (ABI 1.1) */
#if !defined(OM_LAYOUT_ABI_1_0)
OM_LAYOUT_SIZE(om_server_options, 160)
OM_LAYOUT_OFFSET(om_server_options, struct_size, 0)
OM_LAYOUT_OFFSET(om_server_options, bind, 8)
OM_LAYOUT_OFFSET(om_server_options, http_port, 16)
OM_LAYOUT_OFFSET(om_server_options, stun_port, 20)
OM_LAYOUT_OFFSET(om_server_options, stun_alt_address, 24)
OM_LAYOUT_OFFSET(om_server_options, stun_alt_port, 32)
OM_LAYOUT_OFFSET(om_server_options, enable_turn_relay, 36)
OM_LAYOUT_OFFSET(om_server_options, turn_realm, 40)
OM_LAYOUT_OFFSET(om_server_options, turn_users, 48)
OM_LAYOUT_OFFSET(om_server_options, turn_secret, 56)
OM_LAYOUT_OFFSET(om_server_options, turn_min_port, 64)
OM_LAYOUT_OFFSET(om_server_options, turn_max_port, 68)
OM_LAYOUT_OFFSET(om_server_options, turn_allow_loopback_peers, 72)
OM_LAYOUT_OFFSET(om_server_options, secret, 80)
OM_LAYOUT_OFFSET(om_server_options, open, 88)
OM_LAYOUT_OFFSET(om_server_options, redis_url, 96)
OM_LAYOUT_OFFSET(om_server_options, replace_existing_id, 104)
OM_LAYOUT_OFFSET(om_server_options, max_frame_bytes, 108)
OM_LAYOUT_OFFSET(om_server_options, relay_bytes_per_s, 112)
OM_LAYOUT_OFFSET(om_server_options, send_queue_bytes, 116)
OM_LAYOUT_OFFSET(om_server_options, reactor_threads, 120)
OM_LAYOUT_OFFSET(om_server_options, stun_rate_limit, 124) /* 0.2 */
OM_LAYOUT_OFFSET(om_server_options, stun_threads, 128)    /* 0.2 */
OM_LAYOUT_OFFSET(om_server_options, turn_max_allocations, 132)  /* 0.5 */
OM_LAYOUT_OFFSET(om_server_options, turn_user_quota, 136)       /* 0.5 */
OM_LAYOUT_OFFSET(om_server_options, turn_bytes_per_s, 140)      /* 0.5 */
OM_LAYOUT_OFFSET(om_server_options, turn_credential_ttl_s, 144) /* 0.5 */
OM_LAYOUT_OFFSET(om_server_options, turn_address, 152)          /* 0.5 */

/* om_nat_report (0.2) */
OM_LAYOUT_SIZE(om_nat_report, 224)
OM_LAYOUT_OFFSET(om_nat_report, struct_size, 0)
OM_LAYOUT_OFFSET(om_nat_report, nat_type, 4)
OM_LAYOUT_OFFSET(om_nat_report, mapping, 8)
OM_LAYOUT_OFFSET(om_nat_report, filtering, 12)
OM_LAYOUT_OFFSET(om_nat_report, mapped_address, 16)
OM_LAYOUT_OFFSET(om_nat_report, local_address, 80)
OM_LAYOUT_OFFSET(om_nat_report, stun_server, 144)
OM_LAYOUT_OFFSET(om_nat_report, hairpin, 208)
OM_LAYOUT_OFFSET(om_nat_report, server_ips_used, 212)
OM_LAYOUT_OFFSET(om_nat_report, duration_ms, 216)
#endif

/* om_address */
OM_LAYOUT_SIZE(om_address, 24)
OM_LAYOUT_OFFSET(om_address, family, 0)
OM_LAYOUT_OFFSET(om_address, port, 2)
OM_LAYOUT_OFFSET(om_address, scope_id, 4)
OM_LAYOUT_OFFSET(om_address, bytes, 8)

/* om_datagram */
OM_LAYOUT_SIZE(om_datagram, 40)
OM_LAYOUT_OFFSET(om_datagram, data, 0)
OM_LAYOUT_OFFSET(om_datagram, len, 8)
OM_LAYOUT_OFFSET(om_datagram, peer, 16)

/* om_host_api */
OM_LAYOUT_OFFSET(om_host_api, struct_size, 0)
OM_LAYOUT_OFFSET(om_host_api, abi_version, 4)
OM_LAYOUT_OFFSET(om_host_api, log, 8)
OM_LAYOUT_OFFSET(om_host_api, now_us, 16)
OM_LAYOUT_OFFSET(om_host_api, timer_start, 24)
OM_LAYOUT_OFFSET(om_host_api, timer_cancel, 32)
OM_LAYOUT_OFFSET(om_host_api, post, 40)
OM_LAYOUT_OFFSET(om_host_api, set_error, 48)
OM_LAYOUT_OFFSET(om_host_api, alloc, 56)
OM_LAYOUT_OFFSET(om_host_api, free, 64)
OM_LAYOUT_OFFSET(om_host_api, send_datagram, 72)
OM_LAYOUT_OFFSET(om_host_api, address_format, 80)
OM_LAYOUT_OFFSET(om_host_api, address_parse, 88)
#if !defined(OM_LAYOUT_ABI_1_0)
OM_LAYOUT_SIZE(om_host_api, 112)
OM_LAYOUT_OFFSET(om_host_api, counter_add, 96) /* Added in ABI 1.1 */
OM_LAYOUT_OFFSET(om_host_api, config_get, 104)
#else
OM_LAYOUT_SIZE(om_host_api, 96)
#endif

#if !defined(OM_LAYOUT_ABI_1_0)
/* om_plugin_function (Added in ABI 1.1) */
OM_LAYOUT_SIZE(om_plugin_function, 32)
OM_LAYOUT_OFFSET(om_plugin_function, name, 0)
OM_LAYOUT_OFFSET(om_plugin_function, signature, 8)
OM_LAYOUT_OFFSET(om_plugin_function, fn, 16)
OM_LAYOUT_OFFSET(om_plugin_function, doc, 24)
#endif

/* om_plugin_create_args */
OM_LAYOUT_SIZE(om_plugin_create_args, 32)
OM_LAYOUT_OFFSET(om_plugin_create_args, struct_size, 0)
OM_LAYOUT_OFFSET(om_plugin_create_args, host, 8)
OM_LAYOUT_OFFSET(om_plugin_create_args, ctx, 16)
OM_LAYOUT_OFFSET(om_plugin_create_args, agent_id, 24)

/* om_transport_ref */
OM_LAYOUT_SIZE(om_transport_ref, 16)
OM_LAYOUT_OFFSET(om_transport_ref, vtbl, 0)
OM_LAYOUT_OFFSET(om_transport_ref, instance, 8)

/* om_transport_create_args */
OM_LAYOUT_SIZE(om_transport_create_args, 72)
OM_LAYOUT_OFFSET(om_transport_create_args, struct_size, 0)
OM_LAYOUT_OFFSET(om_transport_create_args, base, 8)
OM_LAYOUT_OFFSET(om_transport_create_args, sink, 40)
OM_LAYOUT_OFFSET(om_transport_create_args, sink_user_data, 48)
OM_LAYOUT_OFFSET(om_transport_create_args, inner, 56)

/* om_transport_vtbl */
OM_LAYOUT_OFFSET(om_transport_vtbl, struct_size, 0)
OM_LAYOUT_OFFSET(om_transport_vtbl, create, 8)
OM_LAYOUT_OFFSET(om_transport_vtbl, destroy, 16)
OM_LAYOUT_OFFSET(om_transport_vtbl, open, 24)
OM_LAYOUT_OFFSET(om_transport_vtbl, close, 32)
OM_LAYOUT_OFFSET(om_transport_vtbl, send, 40)
OM_LAYOUT_OFFSET(om_transport_vtbl, poll_fd, 48)
OM_LAYOUT_OFFSET(om_transport_vtbl, drain, 56)
OM_LAYOUT_OFFSET(om_transport_vtbl, local_address, 64)
OM_LAYOUT_OFFSET(om_transport_vtbl, inner_received, 72)
#if !defined(OM_LAYOUT_ABI_1_0)
OM_LAYOUT_SIZE(om_transport_vtbl, 88)
OM_LAYOUT_OFFSET(om_transport_vtbl, mtu, 80) /* Added in ABI 1.1 */
#else
OM_LAYOUT_SIZE(om_transport_vtbl, 80)
#endif

/* om_nat_info */
OM_LAYOUT_SIZE(om_nat_info, 72)
OM_LAYOUT_OFFSET(om_nat_info, struct_size, 0)
OM_LAYOUT_OFFSET(om_nat_info, nat_type, 4)
OM_LAYOUT_OFFSET(om_nat_info, mapping, 8)
OM_LAYOUT_OFFSET(om_nat_info, filtering, 12)
OM_LAYOUT_OFFSET(om_nat_info, mapped_address, 16)
OM_LAYOUT_OFFSET(om_nat_info, local_address, 40)
OM_LAYOUT_OFFSET(om_nat_info, hairpin, 64)
OM_LAYOUT_OFFSET(om_nat_info, server_ips_used, 68)

/* om_nat_request (local_address appended in 0.2) */
OM_LAYOUT_OFFSET(om_nat_request, struct_size, 0)
OM_LAYOUT_OFFSET(om_nat_request, server, 4)
OM_LAYOUT_OFFSET(om_nat_request, timeout_ms, 28)
OM_LAYOUT_OFFSET(om_nat_request, done, 32)
OM_LAYOUT_OFFSET(om_nat_request, done_user_data, 40)
#if !defined(OM_LAYOUT_ABI_1_0)
OM_LAYOUT_OFFSET(om_nat_request, local_address, 48)
OM_LAYOUT_SIZE(om_nat_request, 72)
#else
OM_LAYOUT_SIZE(om_nat_request, 48)
#endif

/* om_nat_discovery_vtbl */
OM_LAYOUT_SIZE(om_nat_discovery_vtbl, 48)
OM_LAYOUT_OFFSET(om_nat_discovery_vtbl, struct_size, 0)
OM_LAYOUT_OFFSET(om_nat_discovery_vtbl, create, 8)
OM_LAYOUT_OFFSET(om_nat_discovery_vtbl, destroy, 16)
OM_LAYOUT_OFFSET(om_nat_discovery_vtbl, start, 24)
OM_LAYOUT_OFFSET(om_nat_discovery_vtbl, on_datagram, 32)
OM_LAYOUT_OFFSET(om_nat_discovery_vtbl, cancel, 40)

/* om_strategy_input */
OM_LAYOUT_SIZE(om_strategy_input, 28)
OM_LAYOUT_OFFSET(om_strategy_input, struct_size, 0)
OM_LAYOUT_OFFSET(om_strategy_input, local_nat, 4)
OM_LAYOUT_OFFSET(om_strategy_input, remote_nat, 8)
OM_LAYOUT_OFFSET(om_strategy_input, prefer_p2p, 12)
OM_LAYOUT_OFFSET(om_strategy_input, fallback_to_relay, 16)
OM_LAYOUT_OFFSET(om_strategy_input, turn_available, 20)
OM_LAYOUT_OFFSET(om_strategy_input, initiator, 24)

/* om_strategy_output */
OM_LAYOUT_SIZE(om_strategy_output, 28)
OM_LAYOUT_OFFSET(om_strategy_output, struct_size, 0)
OM_LAYOUT_OFFSET(om_strategy_output, strategy, 4)
OM_LAYOUT_OFFSET(om_strategy_output, step_count, 8)
OM_LAYOUT_OFFSET(om_strategy_output, steps, 12)

/* om_candidate_pair_info */
OM_LAYOUT_SIZE(om_candidate_pair_info, 64)
OM_LAYOUT_OFFSET(om_candidate_pair_info, local, 0)
OM_LAYOUT_OFFSET(om_candidate_pair_info, remote, 24)
OM_LAYOUT_OFFSET(om_candidate_pair_info, local_type, 48)
OM_LAYOUT_OFFSET(om_candidate_pair_info, remote_type, 52)
OM_LAYOUT_OFFSET(om_candidate_pair_info, priority, 56)

/* om_strategy_vtbl */
OM_LAYOUT_SIZE(om_strategy_vtbl, 40)
OM_LAYOUT_OFFSET(om_strategy_vtbl, struct_size, 0)
OM_LAYOUT_OFFSET(om_strategy_vtbl, create, 8)
OM_LAYOUT_OFFSET(om_strategy_vtbl, destroy, 16)
OM_LAYOUT_OFFSET(om_strategy_vtbl, choose, 24)
OM_LAYOUT_OFFSET(om_strategy_vtbl, order_pairs, 32)

/* om_turn_request */
#if defined(OM_LAYOUT_ABI_1_0)
OM_LAYOUT_SIZE(om_turn_request, 88)
#else
OM_LAYOUT_SIZE(om_turn_request, 104)
#endif
OM_LAYOUT_OFFSET(om_turn_request, struct_size, 0)
OM_LAYOUT_OFFSET(om_turn_request, server, 4)
OM_LAYOUT_OFFSET(om_turn_request, username, 32)
OM_LAYOUT_OFFSET(om_turn_request, password, 40)
OM_LAYOUT_OFFSET(om_turn_request, timeout_ms, 48)
OM_LAYOUT_OFFSET(om_turn_request, done, 56)
OM_LAYOUT_OFFSET(om_turn_request, done_user_data, 64)
OM_LAYOUT_OFFSET(om_turn_request, sink, 72)
OM_LAYOUT_OFFSET(om_turn_request, sink_user_data, 80)
#if !defined(OM_LAYOUT_ABI_1_0)
OM_LAYOUT_OFFSET(om_turn_request, on_event, 88)
OM_LAYOUT_OFFSET(om_turn_request, event_user_data, 96)
#endif

/* om_turn_vtbl */
#if defined(OM_LAYOUT_ABI_1_0)
OM_LAYOUT_SIZE(om_turn_vtbl, 64)
#else
OM_LAYOUT_SIZE(om_turn_vtbl, 72)
#endif
OM_LAYOUT_OFFSET(om_turn_vtbl, struct_size, 0)
OM_LAYOUT_OFFSET(om_turn_vtbl, create, 8)
OM_LAYOUT_OFFSET(om_turn_vtbl, destroy, 16)
OM_LAYOUT_OFFSET(om_turn_vtbl, allocate, 24)
OM_LAYOUT_OFFSET(om_turn_vtbl, create_permission, 32)
OM_LAYOUT_OFFSET(om_turn_vtbl, send, 40)
OM_LAYOUT_OFFSET(om_turn_vtbl, on_datagram, 48)
OM_LAYOUT_OFFSET(om_turn_vtbl, release, 56)
#if !defined(OM_LAYOUT_ABI_1_0)
OM_LAYOUT_OFFSET(om_turn_vtbl, reflexive_address, 64)
#endif

/* om_delivery_metrics (1.0/1.1 size 64) */
#if defined(OM_LAYOUT_ABI_1_0)
OM_LAYOUT_SIZE(om_delivery_metrics, 64)
#else
OM_LAYOUT_SIZE(om_delivery_metrics, 432)
OM_LAYOUT_OFFSET(om_delivery_metrics, rtt_var_ms, 64) /* ABI 1.2 */
OM_LAYOUT_OFFSET(om_delivery_metrics, min_rtt_ms, 72)
OM_LAYOUT_OFFSET(om_delivery_metrics, cwnd, 80)
OM_LAYOUT_OFFSET(om_delivery_metrics, bytes_in_flight, 88)
OM_LAYOUT_OFFSET(om_delivery_metrics, packets_sent, 96)
OM_LAYOUT_OFFSET(om_delivery_metrics, packets_received, 104)
OM_LAYOUT_OFFSET(om_delivery_metrics, packets_lost, 112)
OM_LAYOUT_OFFSET(om_delivery_metrics, send_queue_bytes, 120)
OM_LAYOUT_OFFSET(om_delivery_metrics, send_queue_limit, 128)
OM_LAYOUT_OFFSET(om_delivery_metrics, congestion_control, 136)
OM_LAYOUT_OFFSET(om_delivery_metrics, cipher_suite, 152)
OM_LAYOUT_OFFSET(om_delivery_metrics, local_fingerprint, 216)
OM_LAYOUT_OFFSET(om_delivery_metrics, remote_fingerprint, 312)
OM_LAYOUT_OFFSET(om_delivery_metrics, established, 408)
OM_LAYOUT_OFFSET(om_delivery_metrics, path_id, 412)
OM_LAYOUT_OFFSET(om_delivery_metrics, max_unreliable_message, 416) /* ABI 1.3 */
OM_LAYOUT_OFFSET(om_delivery_metrics, max_sequenced_message, 424)
#endif
OM_LAYOUT_OFFSET(om_delivery_metrics, struct_size, 0)
OM_LAYOUT_OFFSET(om_delivery_metrics, rtt_ms, 8)
OM_LAYOUT_OFFSET(om_delivery_metrics, bytes_sent, 16)
OM_LAYOUT_OFFSET(om_delivery_metrics, bytes_received, 24)
OM_LAYOUT_OFFSET(om_delivery_metrics, messages_sent, 32)
OM_LAYOUT_OFFSET(om_delivery_metrics, messages_received, 40)
OM_LAYOUT_OFFSET(om_delivery_metrics, retransmits, 48)
OM_LAYOUT_OFFSET(om_delivery_metrics, packet_loss, 56)

/* om_delivery_session_args (1.0/1.1 size 32) */
#if defined(OM_LAYOUT_ABI_1_0)
OM_LAYOUT_SIZE(om_delivery_session_args, 32)
#else
OM_LAYOUT_SIZE(om_delivery_session_args, 112)
OM_LAYOUT_OFFSET(om_delivery_session_args, peer_id, 32) /* ABI 1.2 */
OM_LAYOUT_OFFSET(om_delivery_session_args, role, 40)
OM_LAYOUT_OFFSET(om_delivery_session_args, path, 48)
OM_LAYOUT_OFFSET(om_delivery_session_args, remote_fingerprint, 64)
OM_LAYOUT_OFFSET(om_delivery_session_args, keep_alive_ms, 72)
OM_LAYOUT_OFFSET(om_delivery_session_args, idle_timeout_ms, 76)
OM_LAYOUT_OFFSET(om_delivery_session_args, enable_reliable, 80)
OM_LAYOUT_OFFSET(om_delivery_session_args, enable_unreliable, 84)
OM_LAYOUT_OFFSET(om_delivery_session_args, send_packets, 88)
OM_LAYOUT_OFFSET(om_delivery_session_args, deliver_message, 96)
OM_LAYOUT_OFFSET(om_delivery_session_args, session_event, 104)
OM_LAYOUT_SIZE(om_delivery_path, 16)
#endif
OM_LAYOUT_OFFSET(om_delivery_session_args, struct_size, 0)
OM_LAYOUT_OFFSET(om_delivery_session_args, mtu, 4)
OM_LAYOUT_OFFSET(om_delivery_session_args, send_frame, 8)
OM_LAYOUT_OFFSET(om_delivery_session_args, deliver, 16)
OM_LAYOUT_OFFSET(om_delivery_session_args, io_user_data, 24)

/* om_delivery_vtbl (1.0/1.1 size 64) */
#if defined(OM_LAYOUT_ABI_1_0)
OM_LAYOUT_SIZE(om_delivery_vtbl, 64)
#else
OM_LAYOUT_SIZE(om_delivery_vtbl, 104)
OM_LAYOUT_OFFSET(om_delivery_vtbl, send_message, 64) /* ABI 1.2 */
OM_LAYOUT_OFFSET(om_delivery_vtbl, on_packet, 72)
OM_LAYOUT_OFFSET(om_delivery_vtbl, path_changed, 80)
OM_LAYOUT_OFFSET(om_delivery_vtbl, local_fingerprint, 88)
OM_LAYOUT_OFFSET(om_delivery_vtbl, send_messages, 96) /* ABI 1.3 */
OM_LAYOUT_SIZE(om_delivery_message, 24)
OM_LAYOUT_OFFSET(om_delivery_message, data, 8)
OM_LAYOUT_OFFSET(om_delivery_message, len, 16)
#endif
OM_LAYOUT_OFFSET(om_delivery_vtbl, struct_size, 0)
OM_LAYOUT_OFFSET(om_delivery_vtbl, create, 8)
OM_LAYOUT_OFFSET(om_delivery_vtbl, destroy, 16)
OM_LAYOUT_OFFSET(om_delivery_vtbl, session_open, 24)
OM_LAYOUT_OFFSET(om_delivery_vtbl, session_close, 32)
OM_LAYOUT_OFFSET(om_delivery_vtbl, send, 40)
OM_LAYOUT_OFFSET(om_delivery_vtbl, on_frame, 48)
OM_LAYOUT_OFFSET(om_delivery_vtbl, metrics, 56)

/* om_plugin_descriptor */
OM_LAYOUT_OFFSET(om_plugin_descriptor, struct_size, 0)
OM_LAYOUT_OFFSET(om_plugin_descriptor, abi_version, 4)
OM_LAYOUT_OFFSET(om_plugin_descriptor, name, 8)
OM_LAYOUT_OFFSET(om_plugin_descriptor, kind, 16)
OM_LAYOUT_OFFSET(om_plugin_descriptor, version, 24)
OM_LAYOUT_OFFSET(om_plugin_descriptor, description, 32)
OM_LAYOUT_OFFSET(om_plugin_descriptor, flags, 40)
OM_LAYOUT_OFFSET(om_plugin_descriptor, vtbl, 48)
OM_LAYOUT_OFFSET(om_plugin_descriptor, type_data, 56)
OM_LAYOUT_OFFSET(om_plugin_descriptor, free_type_data, 64)
#if !defined(OM_LAYOUT_ABI_1_0)
OM_LAYOUT_SIZE(om_plugin_descriptor, 88)
OM_LAYOUT_OFFSET(om_plugin_descriptor, functions, 72) /* Added in ABI 1.1 */
OM_LAYOUT_OFFSET(om_plugin_descriptor, function_count, 80)
#else
OM_LAYOUT_SIZE(om_plugin_descriptor, 72)
#endif

/* om_plugin_negotiation */
OM_LAYOUT_SIZE(om_plugin_negotiation, 56)
OM_LAYOUT_OFFSET(om_plugin_negotiation, struct_size, 0)
OM_LAYOUT_OFFSET(om_plugin_negotiation, host_abi_min, 4)
OM_LAYOUT_OFFSET(om_plugin_negotiation, host_abi_max, 8)
OM_LAYOUT_OFFSET(om_plugin_negotiation, host, 16)
OM_LAYOUT_OFFSET(om_plugin_negotiation, out_abi_version, 24)
OM_LAYOUT_OFFSET(om_plugin_negotiation, out_descriptor, 32)
OM_LAYOUT_OFFSET(om_plugin_negotiation, out_error, 40)
OM_LAYOUT_OFFSET(om_plugin_negotiation, out_error_cap, 48)

#endif /* __x86_64__ && __LP64__ */

#endif /* OM_TEST_ABI_LAYOUT_H */
