/*
 * CPolicyBuild: builds a Xen kernel policydb directly with libsepol, as
 * libsepol's own cil_binary.c does from CIL's resolved AST, so xsmc needs no
 * CIL text and no read-back. XSMBuild's PolicydbLowering feeds it from the
 * resolved PolicyModel.
 *
 * The interface takes plain values only (names, 1-based symbol values, bit
 * masks, flat uint32 encodings), so no libsepol type crosses into Swift; the
 * policydb itself is handed out as an opaque pointer (a sepol_policydb_t *)
 * for XSMSepol's summary.
 *
 * Encodings:
 * - key list: symbol values of types or attributes (aliases already mapped
 *   to their type). Attributes are expanded where the kernel needs types.
 * - level: sens, ncats, cat... (category values, 1-based).
 * - context: user, role, type, then (MLS only) the low and high levels.
 * - conditional expression: pairs (kind, bool value) in postfix order; kind
 *   is XPB_COND_* (libsepol's COND_* numbering).
 * - constraint expression: records in postfix order: kind (XPB_CEXPR_*),
 *   op, left, right, nnames, names... (left/right: XPB_OPERAND_*; names are
 *   user, role or type-key values by the left operand).
 *
 * Functions returning int return 0 on success and -1 on failure; those
 * returning a value return 0 on failure. xpb_error() says why, and
 * xpb_error_rule() names the rule id it is about (0 for none).
 */
#ifndef XSM_POLICY_BUILD_H
#define XSM_POLICY_BUILD_H

#include <stddef.h>
#include <stdint.h>

typedef struct xpb_builder xpb_builder_t;

enum { XPB_ALLOW = 0, XPB_AUDITALLOW = 1, XPB_DONTAUDIT = 2 };
enum { XPB_TYPE_TRANSITION = 0, XPB_TYPE_MEMBER = 1, XPB_TYPE_CHANGE = 2 };
enum { XPB_COND_BOOL = 1, XPB_COND_NOT, XPB_COND_OR, XPB_COND_AND, XPB_COND_XOR, XPB_COND_EQ, XPB_COND_NEQ };
enum { XPB_CEXPR_NOT = 1, XPB_CEXPR_AND, XPB_CEXPR_OR, XPB_CEXPR_ATTR, XPB_CEXPR_NAMES };
enum { XPB_OP_EQ = 1, XPB_OP_NEQ, XPB_OP_DOM, XPB_OP_DOMBY, XPB_OP_INCOMP };
enum {
  XPB_OPERAND_U1 = 1, XPB_OPERAND_U2, XPB_OPERAND_U3, XPB_OPERAND_R1, XPB_OPERAND_R2, XPB_OPERAND_R3,
  XPB_OPERAND_T1, XPB_OPERAND_T2, XPB_OPERAND_T3, XPB_OPERAND_L1, XPB_OPERAND_L2, XPB_OPERAND_H1,
  XPB_OPERAND_H2
};
enum { XPB_PIRQ = 1, XPB_IOPORT = 2, XPB_IOMEM = 3, XPB_PCIDEVICE = 4, XPB_DEVICETREE = 5 };
enum { XPB_DENY_UNKNOWN = 0, XPB_REJECT_UNKNOWN = 2, XPB_ALLOW_UNKNOWN = 4 };

/* rules and conditional_rules: how many avtab entries to expect (sizes the hash tables). */
xpb_builder_t *xpb_create(uint32_t version, int mls, uint32_t handle_unknown, uint32_t rules,
                          uint32_t conditional_rules);
void xpb_destroy(xpb_builder_t *b);
/* Before any type is declared: how many types, attributes and aliases to expect. libsepol's
 * symbol tables never grow, so without it a large policy's type lookups walk long chains. */
int xpb_expect_types(xpb_builder_t *b, uint32_t names);
const char *xpb_error(const xpb_builder_t *b);
uint32_t xpb_error_rule(const xpb_builder_t *b);
/* libsepol's own messages (bounds checks), in order. */
uint32_t xpb_message_count(const xpb_builder_t *b);
const char *xpb_message(const xpb_builder_t *b, uint32_t index);

/* Symbols, in the order their values are given. */
uint32_t xpb_common(xpb_builder_t *b, const char *name, const char *const *perms, uint32_t n);
uint32_t xpb_class(xpb_builder_t *b, const char *name, const char *common, const char *const *perms, uint32_t n);
uint32_t xpb_sensitivity(xpb_builder_t *b, const char *name);
uint32_t xpb_category(xpb_builder_t *b, const char *name);
int xpb_category_alias(xpb_builder_t *b, const char *alias, uint32_t category);
int xpb_sensitivity_categories(xpb_builder_t *b, uint32_t sensitivity, const uint32_t *cats, uint32_t n);
/* After every sensitivity_categories call for `sensitivity`. */
int xpb_sensitivity_alias(xpb_builder_t *b, const char *alias, uint32_t sensitivity);
uint32_t xpb_role(xpb_builder_t *b, const char *name);
uint32_t xpb_type(xpb_builder_t *b, const char *name);
uint32_t xpb_attribute(xpb_builder_t *b, const char *name);
int xpb_type_alias(xpb_builder_t *b, const char *alias, uint32_t type);
uint32_t xpb_bool(xpb_builder_t *b, const char *name, int state);
uint32_t xpb_user(xpb_builder_t *b, const char *name);

/* Once every symbol is declared: the value-indexed tables and type maps. */
int xpb_index(xpb_builder_t *b);

/* Every member of one attribute at once (linear, where one member at a time is quadratic). */
int xpb_attribute_members(xpb_builder_t *b, uint32_t attribute, const uint32_t *types, uint32_t n);
int xpb_user_roles(xpb_builder_t *b, uint32_t user, const uint32_t *roles, uint32_t n);
/* levels: default level, then the range's low and high levels. */
int xpb_user_mls(xpb_builder_t *b, uint32_t user, const uint32_t *levels, uint32_t n);
int xpb_role_types(xpb_builder_t *b, uint32_t role, const uint32_t *keys, uint32_t n);
int xpb_role_allow(xpb_builder_t *b, uint32_t from, uint32_t to);
int xpb_permissive(xpb_builder_t *b, uint32_t type);
int xpb_bounds(xpb_builder_t *b, uint32_t parent, uint32_t child);
int xpb_policycap(xpb_builder_t *b, const char *name);
int xpb_initial_sid(xpb_builder_t *b, uint32_t sid, const char *name, const uint32_t *context, uint32_t n);
int xpb_ocontext(xpb_builder_t *b, uint32_t kind, uint64_t low, uint64_t high, const char *path,
                 const uint32_t *context, uint32_t n);

/* A conditional node for an expression (identical expressions share one);
 * `swapped` is set when normalising swapped its branches. Returns the node's
 * index, or -1. */
int32_t xpb_conditional(xpb_builder_t *b, const uint32_t *expr, uint32_t n, int *swapped);

/* Neverallows first: every later allow is checked against them. */
int xpb_neverallow(xpb_builder_t *b, uint32_t rule, const uint32_t *src, uint32_t ns, const uint32_t *tgt,
                   uint32_t nt, int self, uint32_t tclass, uint32_t perms);
/* cond < 0: unconditional; else the node index and branch (1 true, 0 false). */
int xpb_avrule(xpb_builder_t *b, uint32_t kind, uint32_t rule, const uint32_t *src, uint32_t ns,
               const uint32_t *tgt, uint32_t nt, int self, uint32_t tclass, uint32_t perms, int32_t cond,
               int branch);
int xpb_typerule(xpb_builder_t *b, uint32_t kind, uint32_t rule, const uint32_t *src, uint32_t ns,
                 const uint32_t *tgt, uint32_t nt, int self, uint32_t tclass, uint32_t result, int32_t cond,
                 int branch);
int xpb_constraint(xpb_builder_t *b, int validatetrans, uint32_t tclass, uint32_t perms, const uint32_t *expr,
                   uint32_t n);

/* Allow rules that break a neverallow (found as they were added). */
uint32_t xpb_violation_count(const xpb_builder_t *b);
void xpb_violation(const xpb_builder_t *b, uint32_t index, uint32_t *neverallow_rule, uint32_t *rule,
                   uint32_t *tclass, uint32_t *perms);

/* Conditional states, role and user caches, context validity and type
 * bounds. Returns -1 with xpb_error() / xpb_error_rule() on the first
 * problem; bounds violations leave libsepol's messages. */
int xpb_finish(xpb_builder_t *b);

/* The binary policy: a malloc'd buffer the caller frees. */
int xpb_write(xpb_builder_t *b, void **data, size_t *len);
/* The policydb (a sepol_policydb_t *), owned by the builder. */
void *xpb_policydb(xpb_builder_t *b);

#endif
