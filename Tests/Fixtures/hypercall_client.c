/* A client of xsmd's binary hypercall endpoint built only from the generated
 * bindings/c/xsm_abi.h (docs/service.md, "Binary hypercall endpoint"): every
 * payload is a header struct written with its _encode helper, every reply
 * read with its _decode helper. HTTP/1.1 over xsmd's Unix socket, plain
 * sockets. HypercallLiveTests compiles it with gcc and runs it:
 *
 *     hypercall_client SOCKET POLICY_FILE
 *
 * It reads xsmid.identity, loads POLICY_FILE (FLASK_LOAD), switches to
 * permissive and back to enforcing (FLASK_SETENFORCE, checked by
 * FLASK_GETENFORCE), gets dom0_t's SID (FLASK_CONTEXT_TO_SID), asks its
 * access vector on itself in class domain (FLASK_ACCESS), reads the identity
 * again, and sends one request with a wrong version. It prints one line per
 * step and exits 0 when every reply is the one expected, 1 otherwise. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "xsm_abi.h"

/* Class `domain` is the third class of Xen's policy (policy/flask/security_classes). */
#define CLASS_DOMAIN 3u
#define PREAMBLE 8u

static const char *socket_path;
static int failures;

struct reply {
    int32_t ret;
    uint32_t size;
    uint8_t *body; /* the whole reply body: preamble, reply layout, output buffers */
    size_t length;
};

static void check(int ok, const char *what)
{
    printf("%s %s\n", ok ? "ok" : "FAILED", what);
    if (!ok)
        failures++;
}

static int write_all(int fd, const void *bytes, size_t length)
{
    const uint8_t *p = bytes;
    while (length > 0) {
        ssize_t n = write(fd, p, length);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        length -= (size_t)n;
    }
    return 0;
}

/* POST PATH with BODY; the HTTP status must be 200 and the body at least the preamble. */
static struct reply call(const char *path, const uint8_t *body, size_t length)
{
    struct reply r = {0};
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    strncpy(address.sun_path, socket_path, sizeof address.sun_path - 1);
    if (fd < 0 || connect(fd, (struct sockaddr *)&address, sizeof address) != 0) {
        perror("connect");
        exit(2);
    }
    char head[256];
    int n = snprintf(head, sizeof head,
        "POST %s HTTP/1.1\r\nHost: xsmd\r\nContent-Type: application/octet-stream\r\n"
        "Content-Length: %zu\r\nConnection: close\r\n\r\n", path, length);
    if (write_all(fd, head, (size_t)n) != 0 || write_all(fd, body, length) != 0) {
        perror("write");
        exit(2);
    }
    size_t capacity = 1 << 16, used = 0;
    uint8_t *all = malloc(capacity);
    for (;;) {
        if (used == capacity)
            all = realloc(all, capacity *= 2);
        ssize_t got = read(fd, all + used, capacity - used);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        used += (size_t)got;
    }
    close(fd);
    uint8_t *end = NULL;
    for (size_t i = 0; i + 4 <= used; i++)
        if (memcmp(all + i, "\r\n\r\n", 4) == 0) {
            end = all + i + 4;
            break;
        }
    if (used < 12 || memcmp(all + 9, "200", 3) != 0 || end == NULL || (size_t)(all + used - end) < PREAMBLE) {
        fprintf(stderr, "%s: not a 200 reply with a preamble:\n%.*s\n", path, (int)used, (const char *)all);
        exit(1);
    }
    r.length = (size_t)(all + used - end);
    r.body = malloc(r.length);
    memcpy(r.body, end, r.length);
    free(all);
    r.ret = (int32_t)xsm_abi_get_u32(r.body);
    r.size = xsm_abi_get_u32(r.body + 4);
    if (PREAMBLE + r.size > r.length) {
        fprintf(stderr, "%s: reply_size %u past the body\n", path, r.size);
        exit(1);
    }
    return r;
}

static struct xsm_abi_xsmid_identity_reply identity(void)
{
    struct xsm_abi_xsmid_identity_request q = {.version = XSM_ABI_XSMID_IDENTITY_REQUEST_VERSION};
    uint8_t bytes[XSM_ABI_XSMID_IDENTITY_REQUEST_SIZE];
    xsm_abi_xsmid_identity_request_encode(&q, bytes, sizeof bytes);
    struct reply r = call("/v1/hypercall/xsmid/identity", bytes, sizeof bytes);
    struct xsm_abi_xsmid_identity_reply id = {0};
    check(r.ret == 0 && xsm_abi_xsmid_identity_reply_decode(&id, r.body + PREAMBLE, r.size) == 0,
        "xsmid.identity: ret 0 and a reply layout");
    free(r.body);
    return id;
}

static int32_t setenforce(uint32_t value)
{
    struct xsm_abi_flask_setenforce_request q = {.version = XSM_ABI_FLASK_SETENFORCE_REQUEST_VERSION, .enforcing = value};
    uint8_t bytes[XSM_ABI_FLASK_SETENFORCE_REQUEST_SIZE];
    xsm_abi_flask_setenforce_request_encode(&q, bytes, sizeof bytes);
    struct reply r = call("/v1/hypercall/flask/setenforce", bytes, sizeof bytes);
    int32_t ret = r.size == XSM_ABI_FLASK_SETENFORCE_REPLY_SIZE ? r.ret : -1000;
    free(r.body);
    return ret;
}

static int32_t getenforce(void)
{
    struct xsm_abi_flask_getenforce_request q = {.version = XSM_ABI_FLASK_GETENFORCE_REQUEST_VERSION};
    uint8_t bytes[XSM_ABI_FLASK_GETENFORCE_REQUEST_SIZE];
    xsm_abi_flask_getenforce_request_encode(&q, bytes, sizeof bytes);
    struct reply r = call("/v1/hypercall/flask/getenforce", bytes, sizeof bytes);
    struct xsm_abi_flask_getenforce_reply out = {0};
    int32_t ret = xsm_abi_flask_getenforce_reply_decode(&out, r.body + PREAMBLE, r.size) == 0
        && out.enforcing == (uint32_t)r.ret ? r.ret : -1000;
    free(r.body);
    return ret;
}

static uint8_t *read_file(const char *path, size_t *length)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        exit(2);
    }
    size_t capacity = 1 << 20;
    uint8_t *bytes = malloc(capacity);
    *length = 0;
    size_t got;
    while ((got = fread(bytes + *length, 1, capacity - *length, f)) > 0) {
        *length += got;
        if (*length == capacity)
            bytes = realloc(bytes, capacity *= 2);
    }
    fclose(f);
    return bytes;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s SOCKET POLICY_FILE\n", argv[0]);
        return 2;
    }
    socket_path = argv[1];

    struct xsm_abi_xsmid_identity_reply before = identity();
    check(before.module == XSM_ABI_XSMID_IDENTITY_REPLY_MODULE_FLASK, "xsmid.identity: module flask");

    /* FLASK_LOAD: the layout, then the policy in the buffer area right after it. */
    size_t policy_length;
    uint8_t *policy = read_file(argv[2], &policy_length);
    struct xsm_abi_flask_load_request load = {
        .version = XSM_ABI_FLASK_LOAD_REQUEST_VERSION,
        .size = (uint32_t)policy_length,
        .buffer = XSM_ABI_FLASK_LOAD_REQUEST_SIZE,
    };
    uint8_t *body = malloc(XSM_ABI_FLASK_LOAD_REQUEST_SIZE + policy_length);
    check(xsm_abi_flask_load_request_encode(&load, body, XSM_ABI_FLASK_LOAD_REQUEST_SIZE)
            == (int)XSM_ABI_FLASK_LOAD_REQUEST_SIZE, "flask.load: request encoded");
    memcpy(body + XSM_ABI_FLASK_LOAD_REQUEST_SIZE, policy, policy_length);
    struct reply loaded = call("/v1/hypercall/flask/load", body, XSM_ABI_FLASK_LOAD_REQUEST_SIZE + policy_length);
    printf("flask.load: %zu bytes, ret %d\n", policy_length, loaded.ret);
    check(loaded.ret == 0 && loaded.size == XSM_ABI_FLASK_LOAD_REPLY_SIZE, "flask.load: ret 0, empty reply");
    free(loaded.body);
    free(body);
    free(policy);

    check(setenforce(XSM_ABI_FLASK_SETENFORCE_REQUEST_ENFORCING_PERMISSIVE) == 0, "flask.setenforce 0: ret 0");
    check(getenforce() == 0, "flask.getenforce: ret 0 (permissive)");
    check(setenforce(XSM_ABI_FLASK_SETENFORCE_REQUEST_ENFORCING_ENFORCING) == 0, "flask.setenforce 1: ret 0");
    check(getenforce() == 1, "flask.getenforce: ret 1 (enforcing)");

    /* FLASK_CONTEXT_TO_SID: the context string (no NUL) in the buffer area. */
    static const char context[] = "system_u:system_r:dom0_t";
    struct xsm_abi_flask_context_to_sid_request c2s = {
        .version = XSM_ABI_FLASK_CONTEXT_TO_SID_REQUEST_VERSION,
        .size = (uint32_t)strlen(context),
        .context = XSM_ABI_FLASK_CONTEXT_TO_SID_REQUEST_SIZE,
    };
    uint8_t c2s_bytes[XSM_ABI_FLASK_CONTEXT_TO_SID_REQUEST_SIZE + sizeof context];
    xsm_abi_flask_context_to_sid_request_encode(&c2s, c2s_bytes, XSM_ABI_FLASK_CONTEXT_TO_SID_REQUEST_SIZE);
    memcpy(c2s_bytes + XSM_ABI_FLASK_CONTEXT_TO_SID_REQUEST_SIZE, context, strlen(context));
    struct reply sid_reply = call("/v1/hypercall/flask/context_to_sid", c2s_bytes,
        XSM_ABI_FLASK_CONTEXT_TO_SID_REQUEST_SIZE + strlen(context));
    struct xsm_abi_flask_context_to_sid_reply sid = {0};
    check(sid_reply.ret == 0 && xsm_abi_flask_context_to_sid_reply_decode(&sid, sid_reply.body + PREAMBLE, sid_reply.size) == 0
            && sid.sid != 0, "flask.context_to_sid: a SID for dom0_t");
    free(sid_reply.body);

    /* FLASK_ACCESS (compute_av): dom0_t on itself, class domain. */
    struct xsm_abi_flask_access_request access = {
        .version = XSM_ABI_FLASK_ACCESS_REQUEST_VERSION, .ssid = sid.sid, .tsid = sid.sid, .tclass = CLASS_DOMAIN,
        .req = 0xffffffffu,
    };
    uint8_t access_bytes[XSM_ABI_FLASK_ACCESS_REQUEST_SIZE];
    xsm_abi_flask_access_request_encode(&access, access_bytes, sizeof access_bytes);
    struct reply av_reply = call("/v1/hypercall/flask/access", access_bytes, sizeof access_bytes);
    struct xsm_abi_flask_access_reply av = {0};
    check(av_reply.ret == 0 && xsm_abi_flask_access_reply_decode(&av, av_reply.body + PREAMBLE, av_reply.size) == 0
            && av.allowed != 0, "flask.access: ret 0 and an allowed vector");
    printf("flask.access: allowed 0x%08x audit_allow 0x%08x audit_deny 0x%08x seqno %u\n", av.allowed,
        av.audit_allow, av.audit_deny, av.seqno);
    free(av_reply.body);

    /* The same request with version 2: -ENOSYS (flask_do_xsm_op's answer to a wrong
       interface_version) and nothing written back. */
    xsm_abi_put_u32(access_bytes, 2);
    struct reply bad = call("/v1/hypercall/flask/access", access_bytes, sizeof access_bytes);
    check(bad.ret == -XSM_ABI_ENOSYS && bad.size == 0, "flask.access version 2: ret -ENOSYS, empty reply");
    free(bad.body);

    struct xsm_abi_xsmid_identity_reply after = identity();
    printf("xsmid.identity: module %u enforcing %u policy_version %u allow_unknown %u flags %u\n", after.module,
        after.enforcing, after.policy_version, after.allow_unknown, after.flags);
    check(after.module == XSM_ABI_XSMID_IDENTITY_REPLY_MODULE_FLASK
            && after.enforcing == XSM_ABI_XSMID_IDENTITY_REPLY_ENFORCING_ENFORCING && after.policy_version == 30
            && (after.flags & XSM_ABI_XSMID_IDENTITY_REPLY_FLAGS_POLICY_LOADED) != 0
            && after.allow_unknown != XSM_ABI_XSMID_IDENTITY_REPLY_ALLOW_UNKNOWN_NOT_APPLICABLE,
        "xsmid.identity: flask, enforcing, version 30, a policy loaded");
    return failures == 0 ? 0 : 1;
}
