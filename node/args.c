/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Command-line values shared by Tern's programs (args.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"

static int decimal(const char *arg, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (arg[0] < '0' || arg[0] > '9' || *end != '\0' || errno != 0 ||
	    v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int tern_arg_u64(const char *prog, const char *option, const char *arg,
		 uint64_t min, uint64_t max, uint64_t *out)
{
	if (decimal(arg, min, max, out) == 0)
		return 0;
	fprintf(stderr,
		"%s: --%s '%s': expected a whole number from %" PRIu64
		" to %" PRIu64 "\n",
		prog, option, arg, min, max);
	return -EINVAL;
}

int tern_arg_endpoint(const char *prog, const char *option, const char *arg,
		      uint16_t default_port, uint32_t *ipv4, uint16_t *port)
{
	const char *colon = strchr(arg, ':');
	uint64_t p = default_port;
	struct in_addr ip;
	char host[INET_ADDRSTRLEN];
	size_t host_len = colon != NULL ? (size_t)(colon - arg) : strlen(arg);

	if (host_len < sizeof(host)) {
		memcpy(host, arg, host_len);
		host[host_len] = '\0';
		if (inet_pton(AF_INET, host, &ip) == 1 &&
		    (colon == NULL || decimal(colon + 1, 1, 65535, &p) == 0)) {
			*ipv4 = ntohl(ip.s_addr);
			*port = (uint16_t)p;
			return 0;
		}
	}
	fprintf(stderr, "%s: --%s '%s': expected IPv4[:PORT]\n", prog, option,
		arg);
	return -EINVAL;
}
