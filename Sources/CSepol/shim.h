/*
 * CSepol shim: the small amount of C that Swift cannot express itself.
 *
 * Imported only by the XSMSepol target. Everything here is `static inline`
 * and keeps no state of its own (a `static` variable in a header would get one
 * copy per Swift object file), so all shared state lives in libsepol itself.
 *
 * 1. Message capture. libsepol's `sepol_msg_set_callback` wants a *variadic*
 *    printf-style callback, which Swift cannot implement. The trampoline below
 *    formats with vsnprintf and forwards (level, message) to a plain callback
 *    (`xsm_sepol_sink_fn`) that Swift installs; the sink travels through the
 *    callback's `void *` argument. CIL's `cil_set_log_handler` already takes
 *    a plain (level, message) callback, but CIL calls it with *fragments* of a
 *    line (cil_tree_log appends " at file:line" in separate calls), so the
 *    Swift side joins fragments up to each newline.
 *
 * 2. libsepol's compat handle. Functions that are passed a NULL handle (most
 *    of services.c, parts of cil_binary.c) log through the library-internal
 *    `sepol_compat_handle`, which prints to stderr by default. It is not
 *    exported by libsepol.so, which is one reason this module links the
 *    static archive (see module.modulemap).
 *
 * 3. Owned services state. services.c keeps a file-level `policydb` and
 *    `sidtab` pointer. `sepol_set_policydb` / `sepol_set_sidtab` (also only in
 *    libsepol.a) let us point them at objects we allocate and free ourselves,
 *    instead of `sepol_set_policydb_from_file`, which leaks the previous policy
 *    on every reload (it only destroys the old policydb when policy_type != 0,
 *    and POLICY_KERN == 0).
 *
 * 4. Read-only accessors over `struct sepol_policydb { struct policydb p; }`
 *    (defined in the installed sepol/policydb/policydb.h), for summaries and
 *    symbol listings, so Swift never walks libsepol's hash tables itself.
 */
#ifndef XSM_CSEPOL_SHIM_H
#define XSM_CSEPOL_SHIM_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sepol/cil/cil.h>
#include <sepol/debug.h>
#include <sepol/handle.h>
#include <sepol/policydb.h>
#include <sepol/policydb/avtab.h>
#include <sepol/policydb/conditional.h>
#include <sepol/policydb/constraint.h>
#include <sepol/policydb/flask_types.h>
#include <sepol/policydb/policydb.h>
#include <sepol/policydb/services.h>
#include <sepol/policydb/sidtab.h>
#include <sepol/sepol.h>

/* ------------------------------------------------------------------ */
/* 1. Message capture                                                  */
/* ------------------------------------------------------------------ */

/* level: 1 = error, 2 = warning, 3 = info (SEPOL_MSG_* and CIL_* agree). */
typedef void (*xsm_sepol_sink_fn)(int level, const char *message);

static inline void xsm_sepol_msg_trampoline(void *varg, sepol_handle_t *handle,
                                            const char *fmt, ...) {
  xsm_sepol_sink_fn sink = (xsm_sepol_sink_fn)(uintptr_t)varg;
  if (sink == NULL || fmt == NULL)
    return;
  int level = handle != NULL ? sepol_msg_get_level(handle) : SEPOL_MSG_ERR;
  char small[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0)
    return;
  if ((size_t)n < sizeof small) {
    sink(level, small);
    return;
  }
  char *big = (char *)malloc((size_t)n + 1);
  if (big == NULL) {
    sink(level, small); /* truncated rather than lost */
    return;
  }
  va_start(ap, fmt);
  vsnprintf(big, (size_t)n + 1, fmt, ap);
  va_end(ap);
  sink(level, big);
  free(big);
}

/* Route the messages of one handle to `sink`. */
static inline void xsm_sepol_capture_handle(sepol_handle_t *handle,
                                            xsm_sepol_sink_fn sink) {
  sepol_msg_set_callback(handle, xsm_sepol_msg_trampoline,
                         (void *)(uintptr_t)sink);
}

/* libsepol.a internal (src/debug.c): the handle used when NULL is passed. */
extern struct sepol_handle sepol_compat_handle;

/* Route NULL-handle messages (services.c, cil_binary.c, …) to `sink`. */
static inline void xsm_sepol_capture_compat(xsm_sepol_sink_fn sink) {
  sepol_msg_set_callback(&sepol_compat_handle, xsm_sepol_msg_trampoline,
                         (void *)(uintptr_t)sink);
}

/* Route CIL's log (errors and warnings, not the info chatter) to `sink`. */
static inline void xsm_cil_capture(xsm_sepol_sink_fn sink) {
  cil_set_log_level(CIL_WARN);
  cil_set_log_handler(sink);
}

/* ------------------------------------------------------------------ */
/* 3. Owned services state                                              */
/* ------------------------------------------------------------------ */

/* A fresh, empty SID table (NULL when out of memory). */
static inline sidtab_t *xsm_sidtab_create(void) {
  sidtab_t *s = (sidtab_t *)calloc(1, sizeof *s);
  if (s == NULL)
    return NULL;
  if (sepol_sidtab_init(s) != 0) {
    free(s);
    return NULL;
  }
  return s;
}

static inline void xsm_sidtab_free(sidtab_t *s) {
  if (s == NULL)
    return;
  sepol_sidtab_destroy(s);
  free(s);
}

/* Point services.c (sepol_compute_av & co.) at a policydb and SID table that
 * the caller owns. Nothing is copied and nothing is freed. */
static inline void xsm_services_install(sepol_policydb_t *db, sidtab_t *s) {
  sepol_set_policydb(&db->p);
  sepol_set_sidtab(s);
}

/* ------------------------------------------------------------------ */
/* 4. Read-only accessors                                               */
/* ------------------------------------------------------------------ */

typedef struct xsm_policy_summary {
  int target_platform; /* SEPOL_TARGET_SELINUX / SEPOL_TARGET_XEN */
  uint32_t policy_version;
  int mls;
  uint32_t handle_unknown; /* SEPOL_DENY_UNKNOWN / REJECT / ALLOW */
  uint32_t classes;
  uint32_t permissions; /* sum over classes, inherited common perms included */
  uint32_t types;       /* primary types, attributes excluded */
  uint32_t attributes;
  uint32_t roles;
  uint32_t users;
  uint32_t booleans;
  uint32_t av_rules;    /* unconditional avtab entries: allowed/auditallow/auditdeny */
  uint32_t type_rules;  /* unconditional avtab entries: transition/member/change */
  uint32_t cond_rules;  /* conditional avtab entries, all kinds */
  uint32_t constraints; /* constrain + mlsconstrain nodes over all classes */
  uint32_t initial_sids;
  uint32_t pirq, ioport, iomem, pcidevice, devicetree;
} xsm_policy_summary_t;

static inline uint32_t xsm_ocontext_count(const policydb_t *p, int kind) {
  uint32_t n = 0;
  for (const ocontext_t *c = p->ocontexts[kind]; c != NULL; c = c->next)
    n++;
  return n;
}

static inline void xsm_avtab_count(const avtab_t *t, uint32_t *av,
                                   uint32_t *type) {
  if (t->htable == NULL)
    return;
  for (uint32_t i = 0; i < t->nslot; i++)
    for (avtab_ptr_t n = t->htable[i]; n != NULL; n = n->next) {
      if (n->key.specified & AVTAB_AV)
        (*av)++;
      if (n->key.specified & AVTAB_TYPE)
        (*type)++;
    }
}

static inline void xsm_policy_summarize(const sepol_policydb_t *db,
                                        xsm_policy_summary_t *out) {
  const policydb_t *p = &db->p;
  memset(out, 0, sizeof *out);
  out->target_platform = p->target_platform;
  out->policy_version = p->policyvers;
  out->mls = p->mls;
  out->handle_unknown = p->handle_unknown;
  out->classes = p->p_classes.nprim;
  for (uint32_t i = 0; i < p->p_classes.nprim; i++) {
    const class_datum_t *c =
        p->class_val_to_struct ? p->class_val_to_struct[i] : NULL;
    if (c == NULL)
      continue;
    out->permissions += c->permissions.nprim;
    for (const constraint_node_t *k = c->constraints; k != NULL; k = k->next)
      out->constraints++;
  }
  for (uint32_t i = 0; i < p->p_types.nprim; i++) {
    const type_datum_t *t =
        p->type_val_to_struct ? p->type_val_to_struct[i] : NULL;
    if (t == NULL)
      continue;
    if (t->flavor == TYPE_ATTRIB)
      out->attributes++;
    else if (t->flavor == TYPE_TYPE)
      out->types++;
  }
  out->roles = p->p_roles.nprim;
  out->users = p->p_users.nprim;
  out->booleans = p->p_bools.nprim;
  xsm_avtab_count(&p->te_avtab, &out->av_rules, &out->type_rules);
  out->cond_rules = p->te_cond_avtab.nel;
  out->initial_sids = xsm_ocontext_count(p, OCON_XEN_ISID);
  if (p->target_platform == SEPOL_TARGET_XEN) {
    out->pirq = xsm_ocontext_count(p, OCON_XEN_PIRQ);
    out->ioport = xsm_ocontext_count(p, OCON_XEN_IOPORT);
    out->iomem = xsm_ocontext_count(p, OCON_XEN_IOMEM);
    out->pcidevice = xsm_ocontext_count(p, OCON_XEN_PCIDEVICE);
    out->devicetree = xsm_ocontext_count(p, OCON_XEN_DEVICETREE);
  }
}

/* Types, by value (0-based index = value - 1). */
static inline uint32_t xsm_type_slot_count(const sepol_policydb_t *db) {
  return db->p.p_types.nprim;
}

/* Name of the primary type with value index+1, or NULL when that value is an
 * attribute (or unused). */
static inline const char *xsm_type_name_if_type(const sepol_policydb_t *db,
                                                uint32_t index) {
  const policydb_t *p = &db->p;
  if (index >= p->p_types.nprim || p->type_val_to_struct == NULL ||
      p->p_type_val_to_name == NULL)
    return NULL;
  const type_datum_t *t = p->type_val_to_struct[index];
  if (t == NULL || t->flavor != TYPE_TYPE)
    return NULL;
  return p->p_type_val_to_name[index];
}

/* Classes, by value (0-based index = value - 1). */
static inline uint32_t xsm_class_count(const sepol_policydb_t *db) {
  return db->p.p_classes.nprim;
}

static inline const char *xsm_class_name(const sepol_policydb_t *db,
                                         uint32_t index) {
  const policydb_t *p = &db->p;
  if (index >= p->p_classes.nprim || p->p_class_val_to_name == NULL)
    return NULL;
  return p->p_class_val_to_name[index];
}

/* Number of permission bits of a class (common permissions included). */
static inline uint32_t xsm_class_perm_count(const sepol_policydb_t *db,
                                            uint32_t index) {
  const policydb_t *p = &db->p;
  if (index >= p->p_classes.nprim || p->class_val_to_struct == NULL ||
      p->class_val_to_struct[index] == NULL)
    return 0;
  const class_datum_t *c = p->class_val_to_struct[index];
  uint32_t n = c->permissions.nprim;
  if (c->comdatum != NULL && c->comdatum->permissions.nprim > n)
    n = c->comdatum->permissions.nprim;
  return n;
}

static inline void xsm_symtab_names_by_value(const symtab_t *s,
                                             const char **out, uint32_t n) {
  if (s->table == NULL || s->table->htable == NULL)
    return;
  for (unsigned int i = 0; i < s->table->size; i++)
    for (hashtab_ptr_t node = s->table->htable[i]; node != NULL;
         node = node->next) {
      const symtab_datum_t *d = (const symtab_datum_t *)node->datum;
      if (d != NULL && d->value >= 1 && d->value <= n)
        out[d->value - 1] = node->key;
    }
}

/* Fill out[bit] with the name of permission bit `bit` (n slots, from
 * xsm_class_perm_count). Slots without a name stay untouched. */
static inline void xsm_class_perm_names(const sepol_policydb_t *db,
                                        uint32_t index, const char **out,
                                        uint32_t n) {
  const policydb_t *p = &db->p;
  if (index >= p->p_classes.nprim || p->class_val_to_struct == NULL ||
      p->class_val_to_struct[index] == NULL)
    return;
  const class_datum_t *c = p->class_val_to_struct[index];
  if (c->comdatum != NULL)
    xsm_symtab_names_by_value(&c->comdatum->permissions, out, n);
  xsm_symtab_names_by_value(&c->permissions, out, n);
}

/* Initial SIDs in list order. Binary policies store the SID number and the
 * context but not the name, so `name` is usually NULL after a read. */
static inline uint32_t xsm_isid_count(const sepol_policydb_t *db) {
  return xsm_ocontext_count(&db->p, OCON_XEN_ISID);
}

static inline int xsm_isid_at(const sepol_policydb_t *db, uint32_t index,
                              uint32_t *sid, const char **name) {
  uint32_t i = 0;
  for (const ocontext_t *c = db->p.ocontexts[OCON_XEN_ISID]; c != NULL;
       c = c->next, i++)
    if (i == index) {
      *sid = c->sid[0];
      *name = c->u.name;
      return 0;
    }
  return -1;
}

/* Name of the lowest sensitivity (for building MLS contexts), or NULL. */
static inline const char *xsm_lowest_sensitivity(const sepol_policydb_t *db) {
  const policydb_t *p = &db->p;
  if (!p->mls || p->p_levels.nprim == 0 || p->p_sens_val_to_name == NULL)
    return NULL;
  return p->p_sens_val_to_name[0];
}

#include "export.h"

#endif /* XSM_CSEPOL_SHIM_H */
