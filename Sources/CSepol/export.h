/*
 * CSepol export: walks a policydb that libsepol has read and hands every
 * table the access-vector engine needs to Swift as plain numbers.
 *
 * Included at the end of shim.h (same module, same rules: `static inline`,
 * no state of its own, read-only over `struct sepol_policydb`).
 *
 * One callback shape for everything: a record is a kind (XSM_EX_*), an array
 * of 64-bit fields and an optional string. Every function below emits records
 * of a few kinds; the field layout of each kind is documented at its #define.
 * The Swift side (XSMSepol/PolicyExport.swift) decodes them.
 *
 * Numbering is libsepol's own: types, roles, users, classes, booleans,
 * sensitivities and categories are 1-based values (value = index + 1 in
 * the *_val_to_name arrays); permission bits are 0-based (bit = value - 1).
 * Bitmaps are emitted as lists of 1-based values (ebitmap bit + 1), except
 * the permissive map, whose bit number *is* the type value.
 *
 * Encodings used inside field arrays:
 *   level   = sens, n, cat_1 ... cat_n            (sens 0 when not MLS)
 *   range   = level(low), level(high)
 *   context = user, role, type, range
 */
#ifndef XSM_CSEPOL_EXPORT_H
#define XSM_CSEPOL_EXPORT_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sepol/policydb.h>
#include <sepol/policydb/avtab.h>
#include <sepol/policydb/conditional.h>
#include <sepol/policydb/constraint.h>
#include <sepol/policydb/context.h>
#include <sepol/policydb/ebitmap.h>
#include <sepol/policydb/hashtab.h>
#include <sepol/policydb/mls_types.h>
#include <sepol/policydb/policydb.h>

/* The record sink. `fields` is valid only during the call; `text` may be
 * NULL. */
typedef void (*xsm_export_sink_fn)(void *ctx, uint32_t kind,
                                   const uint64_t *fields, uint32_t count,
                                   const char *text);

/* [policyvers, mls, handle_unknown, target_platform, process_class,
 *  process_trans_dyntrans, classes, types, roles, users, bools, levels, cats] */
#define XSM_EX_HEADER 1
/* [class value, default_user, default_role, default_type, default_range]
 * text = class name */
#define XSM_EX_CLASS 2
/* [class value, bit (0-based)] text = permission name (common ones too) */
#define XSM_EX_PERM 3
/* [class value, constraint index (0-based, list order), permissions] */
#define XSM_EX_CONSTRAINT 4
/* [class value, constraint index, expr_type, attr, op, name values...]
 * one record per node, in list (postfix) order */
#define XSM_EX_CEXPR 5
/* [value, flavor, primary, flags, bounds] text = symbol-table key (aliases
 * appear with the value of their primary type) */
#define XSM_EX_TYPE 6
/* [type value] text = p_type_val_to_name[value - 1] */
#define XSM_EX_TYPE_NAME 7
/* [type value, attribute values...] (type_attr_map, the type itself included) */
#define XSM_EX_TYPE_ATTRS 8
/* [type value] for each type in the permissive map */
#define XSM_EX_PERMISSIVE 9
/* [role value, bounds, flavor] text = role name */
#define XSM_EX_ROLE 10
/* [role value, type values...] (role->cache, what context validity uses) */
#define XSM_EX_ROLE_TYPES 11
/* [role value, dominated role values...] */
#define XSM_EX_ROLE_DOMINATES 12
/* [user value, bounds] text = user name */
#define XSM_EX_USER 13
/* [user value, role values...] (user->cache) */
#define XSM_EX_USER_ROLES 14
/* [user value, range (exp_range), level (exp_dfltlevel)] */
#define XSM_EX_USER_MLS 15
/* [bool value, state] text = boolean name */
#define XSM_EX_BOOL 16
/* [source, target, class, specified, data] one per te_avtab node */
#define XSM_EX_AVTAB 17
/* [cond index (0-based, list order), cur_state, n, (expr_type, bool) * n] */
#define XSM_EX_COND 18
/* [cond index, list (1 = true list, 0 = false list), source, target, class,
 *  specified (AVTAB_ENABLED included as libsepol has it), data] */
#define XSM_EX_COND_AV 19
/* [role, new_role] */
#define XSM_EX_ROLE_ALLOW 20
/* [role, type, class, new_role] */
#define XSM_EX_ROLE_TRANS 21
/* [source type, target type, class, range] */
#define XSM_EX_RANGE_TRANS 22
/* [sens value, isalias, allowed category values...] text = name */
#define XSM_EX_SENS 23
/* [category value, isalias] text = name */
#define XSM_EX_CAT 24
/* [sid, context] text = name or NULL (binary policies carry no names) */
#define XSM_EX_ISID 25
/* [pirq, context] */
#define XSM_EX_PIRQ 26
/* [low, high, context] */
#define XSM_EX_IOPORT 27
/* [low, high, context] (64-bit frame numbers) */
#define XSM_EX_IOMEM 28
/* [sbdf, context] */
#define XSM_EX_PCIDEVICE 29
/* [context] text = path */
#define XSM_EX_DEVICETREE 30

/* ------------------------------------------------------------------ */
/* A growable field buffer (freed by the walker that made it)           */
/* ------------------------------------------------------------------ */

typedef struct xsm_fields {
  uint64_t *v;
  uint32_t n, cap;
  int failed;
} xsm_fields_t;

static inline void xsm_fields_reset(xsm_fields_t *f) {
  f->n = 0;
}

static inline void xsm_fields_push(xsm_fields_t *f, uint64_t x) {
  if (f->failed)
    return;
  if (f->n == f->cap) {
    uint32_t cap = f->cap ? f->cap * 2 : 64;
    uint64_t *v = (uint64_t *)realloc(f->v, (size_t)cap * sizeof *v);
    if (v == NULL) {
      f->failed = 1;
      return;
    }
    f->v = v;
    f->cap = cap;
  }
  f->v[f->n++] = x;
}

static inline void xsm_fields_free(xsm_fields_t *f) {
  free(f->v);
  f->v = NULL;
  f->n = f->cap = 0;
}

static inline void xsm_fields_emit(xsm_fields_t *f, void *ctx,
                                   xsm_export_sink_fn sink, uint32_t kind,
                                   const char *text) {
  if (!f->failed)
    sink(ctx, kind, f->v, f->n, text);
}

/* Every set bit of `e`, as bit + 1. */
static inline void xsm_fields_push_bitmap(xsm_fields_t *f, const ebitmap_t *e) {
  ebitmap_node_t *node;
  unsigned int bit;
  ebitmap_for_each_positive_bit(e, node, bit) xsm_fields_push(f, (uint64_t)bit + 1);
}

static inline void xsm_fields_push_level(xsm_fields_t *f, const mls_level_t *l) {
  xsm_fields_push(f, l->sens);
  uint32_t at = f->n;
  xsm_fields_push(f, 0);
  xsm_fields_push_bitmap(f, &l->cat);
  if (!f->failed)
    f->v[at] = f->n - at - 1;
}

static inline void xsm_fields_push_range(xsm_fields_t *f, const mls_range_t *r) {
  xsm_fields_push_level(f, &r->level[0]);
  xsm_fields_push_level(f, &r->level[1]);
}

static inline void xsm_fields_push_context(xsm_fields_t *f,
                                           const context_struct_t *c) {
  xsm_fields_push(f, c->user);
  xsm_fields_push(f, c->role);
  xsm_fields_push(f, c->type);
  xsm_fields_push_range(f, &c->range);
}

/* ------------------------------------------------------------------ */
/* Walkers                                                              */
/* ------------------------------------------------------------------ */

/* Header, classes (permissions, constraints). Returns -1 on out of memory. */
static inline int xsm_export_classes(const sepol_policydb_t *db, void *ctx,
                                     xsm_export_sink_fn sink) {
  const policydb_t *p = &db->p;
  xsm_fields_t f = {0};
  uint64_t header[13] = {p->policyvers,
                         (uint64_t)p->mls,
                         p->handle_unknown,
                         (uint64_t)p->target_platform,
                         p->process_class,
                         p->process_trans_dyntrans,
                         p->p_classes.nprim,
                         p->p_types.nprim,
                         p->p_roles.nprim,
                         p->p_users.nprim,
                         p->p_bools.nprim,
                         p->p_levels.nprim,
                         p->p_cats.nprim};
  sink(ctx, XSM_EX_HEADER, header, 13, NULL);

  for (uint32_t i = 0; i < p->p_classes.nprim; i++) {
    const class_datum_t *c =
        p->class_val_to_struct ? p->class_val_to_struct[i] : NULL;
    const char *name = p->p_class_val_to_name ? p->p_class_val_to_name[i] : NULL;
    if (c == NULL)
      continue;
    uint64_t cls[5] = {i + 1, (uint64_t)(unsigned char)c->default_user,
                       (uint64_t)(unsigned char)c->default_role,
                       (uint64_t)(unsigned char)c->default_type,
                       (uint64_t)(unsigned char)c->default_range};
    sink(ctx, XSM_EX_CLASS, cls, 5, name);

    const symtab_t *tabs[2] = {c->comdatum ? &c->comdatum->permissions : NULL,
                               &c->permissions};
    for (int t = 0; t < 2; t++) {
      const symtab_t *s = tabs[t];
      if (s == NULL || s->table == NULL || s->table->htable == NULL)
        continue;
      for (unsigned int b = 0; b < s->table->size; b++)
        for (hashtab_ptr_t n = s->table->htable[b]; n != NULL; n = n->next) {
          const symtab_datum_t *d = (const symtab_datum_t *)n->datum;
          if (d == NULL || d->value == 0)
            continue;
          uint64_t perm[2] = {i + 1, d->value - 1};
          sink(ctx, XSM_EX_PERM, perm, 2, n->key);
        }
    }

    uint64_t index = 0;
    for (const constraint_node_t *k = c->constraints; k != NULL;
         k = k->next, index++) {
      uint64_t con[3] = {i + 1, index, k->permissions};
      sink(ctx, XSM_EX_CONSTRAINT, con, 3, NULL);
      for (const constraint_expr_t *e = k->expr; e != NULL; e = e->next) {
        xsm_fields_reset(&f);
        xsm_fields_push(&f, i + 1);
        xsm_fields_push(&f, index);
        xsm_fields_push(&f, e->expr_type);
        xsm_fields_push(&f, e->attr);
        xsm_fields_push(&f, e->op);
        if (e->expr_type == CEXPR_NAMES)
          xsm_fields_push_bitmap(&f, &e->names);
        xsm_fields_emit(&f, ctx, sink, XSM_EX_CEXPR, NULL);
      }
    }
  }
  int failed = f.failed;
  xsm_fields_free(&f);
  return failed ? -1 : 0;
}

/* Types (symbol table entries, names by value, attribute maps, permissive
 * map), roles, users, booleans. Returns -1 on out of memory. */
static inline int xsm_export_symbols(const sepol_policydb_t *db, void *ctx,
                                     xsm_export_sink_fn sink) {
  const policydb_t *p = &db->p;
  xsm_fields_t f = {0};

  const hashtab_t types = p->p_types.table;
  if (types != NULL && types->htable != NULL)
    for (unsigned int b = 0; b < types->size; b++)
      for (hashtab_ptr_t n = types->htable[b]; n != NULL; n = n->next) {
        const type_datum_t *t = (const type_datum_t *)n->datum;
        if (t == NULL)
          continue;
        uint64_t rec[5] = {t->s.value, t->flavor, t->primary, t->flags,
                           t->bounds};
        sink(ctx, XSM_EX_TYPE, rec, 5, n->key);
      }
  for (uint32_t i = 0; i < p->p_types.nprim; i++) {
    uint64_t value = i + 1;
    if (p->p_type_val_to_name != NULL && p->p_type_val_to_name[i] != NULL)
      sink(ctx, XSM_EX_TYPE_NAME, &value, 1, p->p_type_val_to_name[i]);
    if (p->type_attr_map != NULL) {
      xsm_fields_reset(&f);
      xsm_fields_push(&f, value);
      xsm_fields_push_bitmap(&f, &p->type_attr_map[i]);
      xsm_fields_emit(&f, ctx, sink, XSM_EX_TYPE_ATTRS, NULL);
    }
  }
  {
    ebitmap_node_t *node;
    unsigned int bit;
    ebitmap_for_each_positive_bit(&p->permissive_map, node, bit) {
      uint64_t value = bit;
      sink(ctx, XSM_EX_PERMISSIVE, &value, 1, NULL);
    }
  }

  for (uint32_t i = 0; i < p->p_roles.nprim; i++) {
    const role_datum_t *r =
        p->role_val_to_struct ? p->role_val_to_struct[i] : NULL;
    if (r == NULL)
      continue;
    uint64_t rec[3] = {i + 1, r->bounds, r->flavor};
    sink(ctx, XSM_EX_ROLE, rec, 3,
         p->p_role_val_to_name ? p->p_role_val_to_name[i] : NULL);
    xsm_fields_reset(&f);
    xsm_fields_push(&f, i + 1);
    xsm_fields_push_bitmap(&f, &r->cache);
    xsm_fields_emit(&f, ctx, sink, XSM_EX_ROLE_TYPES, NULL);
    xsm_fields_reset(&f);
    xsm_fields_push(&f, i + 1);
    xsm_fields_push_bitmap(&f, &r->dominates);
    xsm_fields_emit(&f, ctx, sink, XSM_EX_ROLE_DOMINATES, NULL);
  }

  for (uint32_t i = 0; i < p->p_users.nprim; i++) {
    const user_datum_t *u =
        p->user_val_to_struct ? p->user_val_to_struct[i] : NULL;
    if (u == NULL)
      continue;
    uint64_t rec[2] = {i + 1, u->bounds};
    sink(ctx, XSM_EX_USER, rec, 2,
         p->p_user_val_to_name ? p->p_user_val_to_name[i] : NULL);
    xsm_fields_reset(&f);
    xsm_fields_push(&f, i + 1);
    xsm_fields_push_bitmap(&f, &u->cache);
    xsm_fields_emit(&f, ctx, sink, XSM_EX_USER_ROLES, NULL);
    if (p->mls) {
      xsm_fields_reset(&f);
      xsm_fields_push(&f, i + 1);
      xsm_fields_push_range(&f, &u->exp_range);
      xsm_fields_push_level(&f, &u->exp_dfltlevel);
      xsm_fields_emit(&f, ctx, sink, XSM_EX_USER_MLS, NULL);
    }
  }

  for (uint32_t i = 0; i < p->p_bools.nprim; i++) {
    const cond_bool_datum_t *b =
        p->bool_val_to_struct ? p->bool_val_to_struct[i] : NULL;
    if (b == NULL)
      continue;
    uint64_t rec[2] = {i + 1, (uint64_t)(b->state ? 1 : 0)};
    sink(ctx, XSM_EX_BOOL, rec, 2,
         p->p_bool_val_to_name ? p->p_bool_val_to_name[i] : NULL);
  }

  int failed = f.failed;
  xsm_fields_free(&f);
  return failed ? -1 : 0;
}

static inline void xsm_export_avnode(const struct avtab_node *n, void *ctx,
                                     xsm_export_sink_fn sink, uint32_t kind,
                                     uint64_t cond, uint64_t list) {
  if (kind == XSM_EX_AVTAB) {
    uint64_t rec[5] = {n->key.source_type, n->key.target_type,
                       n->key.target_class, n->key.specified, n->datum.data};
    sink(ctx, kind, rec, 5, NULL);
  } else {
    uint64_t rec[7] = {cond,
                       list,
                       n->key.source_type,
                       n->key.target_type,
                       n->key.target_class,
                       n->key.specified,
                       n->datum.data};
    sink(ctx, kind, rec, 7, NULL);
  }
}

/* te_avtab, the conditional list with its rules, role allow/transition
 * rules, range transitions. Returns -1 on out of memory. */
static inline int xsm_export_rules(const sepol_policydb_t *db, void *ctx,
                                   xsm_export_sink_fn sink) {
  const policydb_t *p = &db->p;
  xsm_fields_t f = {0};

  const avtab_t *t = &p->te_avtab;
  if (t->htable != NULL)
    for (uint32_t i = 0; i < t->nslot; i++)
      for (avtab_ptr_t n = t->htable[i]; n != NULL; n = n->next)
        xsm_export_avnode(n, ctx, sink, XSM_EX_AVTAB, 0, 0);

  uint64_t index = 0;
  for (const cond_node_t *c = p->cond_list; c != NULL; c = c->next, index++) {
    xsm_fields_reset(&f);
    xsm_fields_push(&f, index);
    xsm_fields_push(&f, (uint64_t)(int64_t)c->cur_state);
    uint32_t at = f.n;
    xsm_fields_push(&f, 0);
    uint64_t len = 0;
    for (const cond_expr_t *e = c->expr; e != NULL; e = e->next, len++) {
      xsm_fields_push(&f, e->expr_type);
      xsm_fields_push(&f, e->bool);
    }
    if (!f.failed)
      f.v[at] = len;
    xsm_fields_emit(&f, ctx, sink, XSM_EX_COND, NULL);
    for (const cond_av_list_t *l = c->true_list; l != NULL; l = l->next)
      if (l->node != NULL)
        xsm_export_avnode(l->node, ctx, sink, XSM_EX_COND_AV, index, 1);
    for (const cond_av_list_t *l = c->false_list; l != NULL; l = l->next)
      if (l->node != NULL)
        xsm_export_avnode(l->node, ctx, sink, XSM_EX_COND_AV, index, 0);
  }

  for (const role_allow_t *ra = p->role_allow; ra != NULL; ra = ra->next) {
    uint64_t rec[2] = {ra->role, ra->new_role};
    sink(ctx, XSM_EX_ROLE_ALLOW, rec, 2, NULL);
  }
  for (const role_trans_t *rt = p->role_tr; rt != NULL; rt = rt->next) {
    uint64_t rec[4] = {rt->role, rt->type, rt->tclass, rt->new_role};
    sink(ctx, XSM_EX_ROLE_TRANS, rec, 4, NULL);
  }

  const hashtab_t rt = p->range_tr;
  if (rt != NULL && rt->htable != NULL)
    for (unsigned int b = 0; b < rt->size; b++)
      for (hashtab_ptr_t n = rt->htable[b]; n != NULL; n = n->next) {
        const range_trans_t *k = (const range_trans_t *)n->key;
        const mls_range_t *r = (const mls_range_t *)n->datum;
        if (k == NULL || r == NULL)
          continue;
        xsm_fields_reset(&f);
        xsm_fields_push(&f, k->source_type);
        xsm_fields_push(&f, k->target_type);
        xsm_fields_push(&f, k->target_class);
        xsm_fields_push_range(&f, r);
        xsm_fields_emit(&f, ctx, sink, XSM_EX_RANGE_TRANS, NULL);
      }

  int failed = f.failed;
  xsm_fields_free(&f);
  return failed ? -1 : 0;
}

/* Sensitivities, categories, initial SIDs and (Xen target) ocontexts.
 * Returns -1 on out of memory. */
static inline int xsm_export_labels(const sepol_policydb_t *db, void *ctx,
                                    xsm_export_sink_fn sink) {
  const policydb_t *p = &db->p;
  xsm_fields_t f = {0};

  const hashtab_t levels = p->p_levels.table;
  if (p->mls && levels != NULL && levels->htable != NULL)
    for (unsigned int b = 0; b < levels->size; b++)
      for (hashtab_ptr_t n = levels->htable[b]; n != NULL; n = n->next) {
        const level_datum_t *l = (const level_datum_t *)n->datum;
        if (l == NULL || l->level == NULL)
          continue;
        xsm_fields_reset(&f);
        xsm_fields_push(&f, l->level->sens);
        xsm_fields_push(&f, l->isalias);
        xsm_fields_push_bitmap(&f, &l->level->cat);
        xsm_fields_emit(&f, ctx, sink, XSM_EX_SENS, n->key);
      }
  const hashtab_t cats = p->p_cats.table;
  if (p->mls && cats != NULL && cats->htable != NULL)
    for (unsigned int b = 0; b < cats->size; b++)
      for (hashtab_ptr_t n = cats->htable[b]; n != NULL; n = n->next) {
        const cat_datum_t *c = (const cat_datum_t *)n->datum;
        if (c == NULL)
          continue;
        uint64_t rec[2] = {c->s.value, c->isalias};
        sink(ctx, XSM_EX_CAT, rec, 2, n->key);
      }

  for (const ocontext_t *c = p->ocontexts[OCON_XEN_ISID]; c != NULL;
       c = c->next) {
    xsm_fields_reset(&f);
    xsm_fields_push(&f, c->sid[0]);
    xsm_fields_push_context(&f, &c->context[0]);
    xsm_fields_emit(&f, ctx, sink, XSM_EX_ISID, c->u.name);
  }

  if (p->target_platform == SEPOL_TARGET_XEN) {
    for (const ocontext_t *c = p->ocontexts[OCON_XEN_PIRQ]; c != NULL;
         c = c->next) {
      xsm_fields_reset(&f);
      xsm_fields_push(&f, c->u.pirq);
      xsm_fields_push_context(&f, &c->context[0]);
      xsm_fields_emit(&f, ctx, sink, XSM_EX_PIRQ, NULL);
    }
    for (const ocontext_t *c = p->ocontexts[OCON_XEN_IOPORT]; c != NULL;
         c = c->next) {
      xsm_fields_reset(&f);
      xsm_fields_push(&f, c->u.ioport.low_ioport);
      xsm_fields_push(&f, c->u.ioport.high_ioport);
      xsm_fields_push_context(&f, &c->context[0]);
      xsm_fields_emit(&f, ctx, sink, XSM_EX_IOPORT, NULL);
    }
    for (const ocontext_t *c = p->ocontexts[OCON_XEN_IOMEM]; c != NULL;
         c = c->next) {
      xsm_fields_reset(&f);
      xsm_fields_push(&f, c->u.iomem.low_iomem);
      xsm_fields_push(&f, c->u.iomem.high_iomem);
      xsm_fields_push_context(&f, &c->context[0]);
      xsm_fields_emit(&f, ctx, sink, XSM_EX_IOMEM, NULL);
    }
    for (const ocontext_t *c = p->ocontexts[OCON_XEN_PCIDEVICE]; c != NULL;
         c = c->next) {
      xsm_fields_reset(&f);
      xsm_fields_push(&f, c->u.device);
      xsm_fields_push_context(&f, &c->context[0]);
      xsm_fields_emit(&f, ctx, sink, XSM_EX_PCIDEVICE, NULL);
    }
    for (const ocontext_t *c = p->ocontexts[OCON_XEN_DEVICETREE]; c != NULL;
         c = c->next) {
      xsm_fields_reset(&f);
      xsm_fields_push_context(&f, &c->context[0]);
      xsm_fields_emit(&f, ctx, sink, XSM_EX_DEVICETREE, c->u.name);
    }
  }

  int failed = f.failed;
  xsm_fields_free(&f);
  return failed ? -1 : 0;
}

#endif /* XSM_CSEPOL_EXPORT_H */
