/*
 * sepol-av: libsepol's access decisions per second, called from C — the peer
 * baseline of Benchmarks/engine.sh.
 *
 *   sepol-av POLICY QUERIES [RUNS [LIMIT]]
 *
 * POLICY is a binary Flask policy. QUERIES is the file `xsmbench decisions
 * --queries DIR` writes for one (policy, mix): the contexts and classes the
 * engine was asked about and every query with the engine's allowed vector:
 *
 *   contexts N        then N lines, one security context each
 *   classes M         then M lines, one class name each
 *   queries Q         then Q lines "SOURCE TARGET CLASS ALLOWED": indices into
 *                     the two lists above, and the engine's allowed vector in hex
 *
 * The policy is loaded with sepol_set_policydb_from_file, every context is
 * mapped to a SID once and every class name to its value once, all before the
 * clock starts. One untimed pass then checks that libsepol's allowed vector
 * equals the engine's for every query (so both answer the same questions and
 * agree on the answers); any difference is printed and the exit status is 1.
 * Then RUNS timed passes (default 5) run sepol_compute_av over the query list
 * from a flat array: no allocation, parsing or output inside the loop. With
 * LIMIT, only the first LIMIT queries are checked and timed.
 *
 * Each pass is timed twice: by this thread's CPU time (CLOCK_THREAD_CPUTIME_ID,
 * which other jobs on a shared machine do not inflate) and by wall time.
 *
 * Output, one "key<TAB>value" line each: queries, mismatches, each run's rate
 * in decisions/s (CPU time, then wall time), and the medians ("median cpu",
 * "median wall"). Exit status 1 on a mismatch, 2 on usage or input errors.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sepol/policydb/services.h>
#include <sepol/sepol.h>

struct query {
	sepol_security_id_t source;
	sepol_security_id_t target;
	sepol_security_class_t cls;
	uint32_t expected;
};

static void fail(const char *what, const char *detail)
{
	fprintf(stderr, "sepol-av: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
	exit(2);
}

/* Reads "WORD COUNT\n" and returns COUNT. */
static unsigned long read_header(FILE *f, const char *word)
{
	char seen[32];
	unsigned long count;
	if (fscanf(f, "%31s %lu", seen, &count) != 2 || strcmp(seen, word) != 0)
		fail("malformed query file, expected a header line", word);
	if (fgetc(f) != '\n')
		fail("malformed query file, no newline after header", word);
	return count;
}

/* Reads one line (without its newline) into a fresh string. */
static char *read_line(FILE *f)
{
	char *line = NULL;
	size_t capacity = 0;
	ssize_t length = getline(&line, &capacity, f);
	if (length <= 0)
		fail("malformed query file", "list shorter than its header");
	if (line[length - 1] == '\n')
		line[length - 1] = '\0';
	return line;
}

static int compare_doubles(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Seconds on the given clock: CPU time of this thread, or wall time. */
static double seconds(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double median_of(double *values, int count)
{
	qsort(values, (size_t)count, sizeof *values, compare_doubles);
	return count % 2 ? values[count / 2] : (values[count / 2 - 1] + values[count / 2]) / 2;
}

int main(int argc, char **argv)
{
	if (argc < 3 || argc > 5)
		fail("usage: sepol-av POLICY QUERIES [RUNS [LIMIT]]", NULL);
	int runs = argc >= 4 ? atoi(argv[3]) : 5;
	if (runs < 1)
		fail("RUNS must be at least 1", argv[3]);
	long limit = argc == 5 ? atol(argv[4]) : -1;
	if (argc == 5 && limit < 1)
		fail("LIMIT must be at least 1", argv[4]);

	FILE *policy = fopen(argv[1], "r");
	if (!policy)
		fail(argv[1], strerror(errno));
	if (sepol_set_policydb_from_file(policy) != 0)
		fail("libsepol cannot read the policy", argv[1]);
	fclose(policy);

	FILE *input = fopen(argv[2], "r");
	if (!input)
		fail(argv[2], strerror(errno));

	unsigned long context_count = read_header(input, "contexts");
	sepol_security_id_t *sids = calloc(context_count, sizeof *sids);
	for (unsigned long i = 0; i < context_count; i++) {
		char *context = read_line(input);
		if (sepol_context_to_sid(context, strlen(context), &sids[i]) != 0)
			fail("libsepol rejects the context", context);
		free(context);
	}

	unsigned long class_count = read_header(input, "classes");
	sepol_security_class_t *classes = calloc(class_count, sizeof *classes);
	for (unsigned long i = 0; i < class_count; i++) {
		char *name = read_line(input);
		if (sepol_string_to_security_class(name, &classes[i]) != 0)
			fail("libsepol has no such class", name);
		free(name);
	}

	unsigned long count = read_header(input, "queries");
	if (limit > 0 && (unsigned long)limit < count)
		count = (unsigned long)limit;
	struct query *queries = malloc(count * sizeof *queries);
	for (unsigned long i = 0; i < count; i++) {
		unsigned long s, t, c;
		unsigned int allowed;
		if (fscanf(input, "%lu %lu %lu %x", &s, &t, &c, &allowed) != 4)
			fail("malformed query line", NULL);
		if (s >= context_count || t >= context_count || c >= class_count)
			fail("query index out of range", NULL);
		queries[i] = (struct query){ sids[s], sids[t], classes[c], allowed };
	}
	fclose(input);

	/* Untimed: the same answers as the engine, query by query. */
	unsigned long mismatches = 0;
	struct sepol_av_decision avd;
	for (unsigned long i = 0; i < count; i++) {
		if (sepol_compute_av(queries[i].source, queries[i].target, queries[i].cls, ~0U, &avd) != 0)
			fail("sepol_compute_av failed", NULL);
		if (avd.allowed != queries[i].expected) {
			if (mismatches < 10)
				fprintf(stderr, "sepol-av: query %lu: libsepol allows %#x, the engine %#x\n", i,
					avd.allowed, queries[i].expected);
			mismatches++;
		}
	}

	/* Timed: the query loop only. The OR of the vectors keeps the calls alive. */
	double *cpu_rates = calloc((size_t)runs, sizeof *cpu_rates);
	double *wall_rates = calloc((size_t)runs, sizeof *wall_rates);
	uint32_t sink = 0;
	for (int run = 0; run < runs; run++) {
		double cpu_start = seconds(CLOCK_THREAD_CPUTIME_ID), wall_start = seconds(CLOCK_MONOTONIC);
		for (unsigned long i = 0; i < count; i++) {
			sepol_compute_av(queries[i].source, queries[i].target, queries[i].cls, ~0U, &avd);
			sink |= avd.allowed;
		}
		cpu_rates[run] = (double)count / (seconds(CLOCK_THREAD_CPUTIME_ID) - cpu_start);
		wall_rates[run] = (double)count / (seconds(CLOCK_MONOTONIC) - wall_start);
	}

	printf("queries\t%lu\n", count);
	printf("mismatches\t%lu\n", mismatches);
	for (int run = 0; run < runs; run++)
		printf("run %d\t%.6g\t%.6g\n", run + 1, cpu_rates[run], wall_rates[run]);
	printf("median cpu\t%.6g\n", median_of(cpu_rates, runs));
	printf("median wall\t%.6g\n", median_of(wall_rates, runs));
	printf("sink\t%#x\n", sink);
	return mismatches ? 1 : 0;
}
