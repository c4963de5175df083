/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Command-line values shared by Tern's programs (ternd, tern-bench,
 * ternctl): each checks its value and, when it is wrong, prints one line
 * on stderr that names the program, the option, the value and what it
 * should be.
 */
#ifndef TERN_NODE_ARGS_H
#define TERN_NODE_ARGS_H

#include <stdint.h>

/*
 * A whole decimal number in [min, max] (digits only: no sign, no base
 * prefix). option is the option's name without its dashes. 0 or -EINVAL.
 */
int tern_arg_u64(const char *prog, const char *option, const char *arg,
		 uint64_t min, uint64_t max, uint64_t *out);

/*
 * "A.B.C.D[:PORT]", PORT 1..65535 and default_port when left out; the
 * address in host byte order. 0 or -EINVAL.
 */
int tern_arg_endpoint(const char *prog, const char *option, const char *arg,
		      uint16_t default_port, uint32_t *ipv4, uint16_t *port);

#endif /* TERN_NODE_ARGS_H */
