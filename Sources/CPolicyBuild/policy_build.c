/*
 * Builds a Xen kernel policydb with libsepol, the way libsepol's
 * cil_binary.c does from CIL's AST (see include/xsm_policy_build.h).
 */
#define _GNU_SOURCE /* vasprintf */
#include "xsm_policy_build.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sepol/debug.h>
#include <sepol/handle.h>
#include <sepol/policydb.h>
#include <sepol/policydb/avtab.h>
#include <sepol/policydb/conditional.h>
#include <sepol/policydb/constraint.h>
#include <sepol/policydb/context.h>
#include <sepol/policydb/ebitmap.h>
#include <sepol/policydb/hashtab.h>
#include <sepol/policydb/hierarchy.h>
#include <sepol/policydb/mls_types.h>
#include <sepol/policydb/polcaps.h>
#include <sepol/policydb/policydb.h>

typedef struct {
  uint32_t rule;
  ebitmap_t stypes, ttypes;
  /* The same sets as flat bit arrays, so testing a rule's key is one word per node of
   * the key's types, not a walk along a set of perhaps every type (`*`, `~attr`). */
  MAPTYPE *swords, *twords;
  int self;
  uint32_t tclass, perms;
} neverallow_t;

typedef struct {
  uint32_t neverallow, rule, tclass, perms;
} violation_t;

struct xpb_builder {
  sepol_policydb_t *spdb;
  policydb_t *p;
  sepol_handle_t *handle;
  char error[1024];
  uint32_t error_rule;
  char **messages;
  uint32_t nmessages;
  cond_node_t **conds;
  uint32_t nconds;
  neverallow_t *neverallows;
  uint32_t nneverallows;
  violation_t *violations;
  uint32_t nviolations;
  ocontext_t *tails[OCON_NUM];
  int cached;
  /* Per type value: its avtab key plus one (0: not worked out yet; 1: none);
   * filled by the rules, which come after every attribute member. */
  uint32_t *avtab_keys;
};

static int fail(xpb_builder_t *b, uint32_t rule, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(b->error, sizeof b->error, fmt, ap);
  va_end(ap);
  b->error_rule = rule;
  return -1;
}

static void *grow(void *array, uint32_t count, size_t size) {
  /* Doubles at powers of two; count is the number of elements before adding one. */
  if (count != 0 && (count & (count - 1)) != 0)
    return array;
  return realloc(array, (count == 0 ? 4 : (size_t)count * 2) * size);
}

static void capture(void *arg, sepol_handle_t *handle, const char *fmt, ...) {
  (void)handle;
  xpb_builder_t *b = arg;
  char *text = NULL;
  va_list ap;
  va_start(ap, fmt);
  if (vasprintf(&text, fmt, ap) < 0)
    text = NULL;
  va_end(ap);
  if (text == NULL)
    return;
  char **bigger = grow(b->messages, b->nmessages, sizeof *b->messages);
  if (bigger == NULL) {
    free(text);
    return;
  }
  b->messages = bigger;
  b->messages[b->nmessages++] = text;
}

/* avtab_alloc makes about n/4 slots for n; ask for four times the entries
 * expected, so chains stay short, and no more than libsepol's maximum. */
static uint32_t avtab_request(uint32_t entries) {
  uint64_t n = (uint64_t)entries * 4 + 64;
  return n > MAX_AVTAB_SIZE ? MAX_AVTAB_SIZE : (uint32_t)n;
}

xpb_builder_t *xpb_create(uint32_t version, int mls, uint32_t handle_unknown, uint32_t rules,
                          uint32_t conditional_rules) {
  xpb_builder_t *b = calloc(1, sizeof *b);
  if (b == NULL)
    return NULL;
  b->handle = sepol_handle_create();
  if (b->handle == NULL || sepol_policydb_create(&b->spdb) != 0) {
    xpb_destroy(b);
    return NULL;
  }
  sepol_msg_set_callback(b->handle, capture, b);
  b->p = &b->spdb->p;
  b->p->policy_type = POLICY_KERN;
  b->p->target_platform = SEPOL_TARGET_XEN;
  b->p->policyvers = version;
  b->p->mls = mls;
  b->p->handle_unknown = handle_unknown;
  if (avtab_alloc(&b->p->te_avtab, avtab_request(rules)) ||
      avtab_alloc(&b->p->te_cond_avtab, avtab_request(conditional_rules))) {
    xpb_destroy(b);
    return NULL;
  }
  return b;
}

void xpb_destroy(xpb_builder_t *b) {
  if (b == NULL)
    return;
  if (b->spdb != NULL)
    sepol_policydb_free(b->spdb);
  if (b->handle != NULL)
    sepol_handle_destroy(b->handle);
  for (uint32_t i = 0; i < b->nmessages; i++)
    free(b->messages[i]);
  free(b->messages);
  free(b->conds);
  for (uint32_t i = 0; i < b->nneverallows; i++) {
    ebitmap_destroy(&b->neverallows[i].stypes);
    ebitmap_destroy(&b->neverallows[i].ttypes);
    free(b->neverallows[i].swords);
    free(b->neverallows[i].twords);
  }
  free(b->neverallows);
  free(b->violations);
  free(b->avtab_keys);
  free(b);
}

/* FNV-1a over the whole name. libsepol's own symbol hash keeps, in its low 16 bits, little
 * more than a name's last four characters, so `t1234_t`-style names share a few hundred
 * buckets whatever the table's size; this table's lookups all go through its hash_value. */
static unsigned int type_name_hash(hashtab_t h, const_hashtab_key_t key) {
  uint32_t hash = 2166136261u;
  for (const unsigned char *p = (const unsigned char *)key; *p != 0; p++)
    hash = (hash ^ *p) * 16777619u;
  return hash & (h->size - 1);
}

int xpb_expect_types(xpb_builder_t *b, uint32_t names) {
  symtab_t *types = &b->p->p_types;
  /* libsepol's symbol hash masks with size - 1: the size stays a power of two. */
  uint32_t size = types->table->size;
  while (size < names && size < (1u << 20))
    size *= 2;
  if (types->nprim != 0 || size == types->table->size)
    return 0;
  hashtab_t bigger = hashtab_create(type_name_hash, types->table->keycmp, size);
  if (bigger == NULL)
    return fail(b, 0, "out of memory");
  hashtab_destroy(types->table);
  types->table = bigger;
  return 0;
}

const char *xpb_error(const xpb_builder_t *b) { return b->error; }
uint32_t xpb_error_rule(const xpb_builder_t *b) { return b->error_rule; }
uint32_t xpb_message_count(const xpb_builder_t *b) { return b->nmessages; }
const char *xpb_message(const xpb_builder_t *b, uint32_t index) {
  return index < b->nmessages ? b->messages[index] : "";
}
void *xpb_policydb(xpb_builder_t *b) { return b->spdb; }

/* ------------------------------------------------------------------ */
/* Symbols                                                              */
/* ------------------------------------------------------------------ */

/* Inserts `datum` under a copy of `name`; the value it gets (0 for an alias). */
static uint32_t insert(xpb_builder_t *b, symtab_t *table, const char *name, void *datum, int primary) {
  char *key = strdup(name);
  if (key == NULL) {
    fail(b, 0, "out of memory");
    return 0;
  }
  if (hashtab_insert(table->table, key, datum) != SEPOL_OK) {
    free(key);
    fail(b, 0, "`%s` is declared twice", name);
    return 0;
  }
  return primary ? ++table->nprim : 1;
}

/* A zeroed datum of `size` bytes (a symtab_datum_t first, as every datum
 * here but levels) under `name`; a primary one gets the next value. Zeroed is
 * what libsepol's *_datum_init functions make of these. */
static void *declare(xpb_builder_t *b, symtab_t *table, const char *name, size_t size, int primary) {
  symtab_datum_t *datum = calloc(1, size);
  if (datum == NULL) {
    fail(b, 0, "out of memory");
    return NULL;
  }
  uint32_t value = insert(b, table, name, datum, primary);
  if (value == 0) {
    free(datum);
    return NULL;
  }
  datum->value = primary ? value : 0;
  return datum;
}

static int add_permissions(xpb_builder_t *b, symtab_t *perms, const char *const *names, uint32_t n) {
  for (uint32_t i = 0; i < n; i++)
    if (declare(b, perms, names[i], sizeof(perm_datum_t), 1) == NULL)
      return -1;
  return 0;
}

uint32_t xpb_common(xpb_builder_t *b, const char *name, const char *const *perms, uint32_t n) {
  common_datum_t *common = declare(b, &b->p->p_commons, name, sizeof *common, 1);
  if (common == NULL)
    return 0;
  if (symtab_init(&common->permissions, PERM_SYMTAB_SIZE))
    return fail(b, 0, "out of memory"), 0;
  return add_permissions(b, &common->permissions, perms, n) ? 0 : common->s.value;
}

uint32_t xpb_class(xpb_builder_t *b, const char *name, const char *common, const char *const *perms, uint32_t n) {
  class_datum_t *class = declare(b, &b->p->p_classes, name, sizeof *class, 1);
  if (class == NULL)
    return 0;
  if (symtab_init(&class->permissions, PERM_SYMTAB_SIZE))
    return fail(b, 0, "out of memory"), 0;
  if (common != NULL) {
    common_datum_t *datum = hashtab_search(b->p->p_commons.table, (hashtab_key_t)common);
    if (datum == NULL)
      return fail(b, 0, "class `%s` inherits `%s`, which is not a common", name, common), 0;
    class->comdatum = datum;
    class->comkey = strdup(common);
    class->permissions.nprim = datum->permissions.nprim;
  }
  return add_permissions(b, &class->permissions, perms, n) ? 0 : class->s.value;
}

uint32_t xpb_sensitivity(xpb_builder_t *b, const char *name) {
  level_datum_t *level = malloc(sizeof *level);
  mls_level_t *mls = malloc(sizeof *mls);
  if (level == NULL || mls == NULL) {
    free(level);
    free(mls);
    fail(b, 0, "out of memory");
    return 0;
  }
  level_datum_init(level);
  mls_level_init(mls);
  uint32_t value = insert(b, &b->p->p_levels, name, level, 1);
  if (value == 0) {
    free(level);
    free(mls);
    return 0;
  }
  mls->sens = value;
  level->level = mls;
  return value;
}

static level_datum_t *sensitivity_datum(xpb_builder_t *b, uint32_t value) {
  /* Before indexing, find it by walking the table (few sensitivities). */
  hashtab_t table = b->p->p_levels.table;
  for (uint32_t i = 0; i < table->size; i++)
    for (hashtab_ptr_t node = table->htable[i]; node != NULL; node = node->next) {
      level_datum_t *level = node->datum;
      if (!level->isalias && level->level->sens == value)
        return level;
    }
  return NULL;
}

int xpb_sensitivity_categories(xpb_builder_t *b, uint32_t sensitivity, const uint32_t *cats, uint32_t n) {
  level_datum_t *level = sensitivity_datum(b, sensitivity);
  if (level == NULL)
    return fail(b, 0, "no sensitivity with value %u", sensitivity);
  for (uint32_t i = 0; i < n; i++)
    if (ebitmap_set_bit(&level->level->cat, cats[i] - 1, 1))
      return fail(b, 0, "out of memory");
  level->defined = 1;
  return 0;
}

int xpb_sensitivity_alias(xpb_builder_t *b, const char *alias, uint32_t sensitivity) {
  level_datum_t *actual = sensitivity_datum(b, sensitivity);
  level_datum_t *level = malloc(sizeof *level);
  mls_level_t *mls = malloc(sizeof *mls);
  if (actual == NULL || level == NULL || mls == NULL) {
    free(level);
    free(mls);
    return fail(b, 0, actual == NULL ? "no sensitivity for alias `%s`" : "out of memory", alias);
  }
  level_datum_init(level);
  mls_level_init(mls);
  if (mls_level_cpy(mls, actual->level) || insert(b, &b->p->p_levels, alias, level, 0) == 0) {
    mls_level_destroy(mls);
    free(mls);
    free(level);
    return -1;
  }
  level->level = mls;
  level->defined = 1;
  level->isalias = 1;
  return 0;
}

uint32_t xpb_category(xpb_builder_t *b, const char *name) {
  cat_datum_t *cat = declare(b, &b->p->p_cats, name, sizeof *cat, 1);
  return cat != NULL ? cat->s.value : 0;
}

int xpb_category_alias(xpb_builder_t *b, const char *alias, uint32_t category) {
  cat_datum_t *cat = declare(b, &b->p->p_cats, alias, sizeof *cat, 0);
  if (cat == NULL)
    return -1;
  cat->s.value = category;
  cat->isalias = 1;
  return 0;
}

uint32_t xpb_role(xpb_builder_t *b, const char *name) {
  if (strcmp(name, OBJECT_R) == 0)
    return OBJECT_R_VAL; /* policydb_init declared it */
  role_datum_t *role = declare(b, &b->p->p_roles, name, sizeof *role, 1);
  if (role == NULL)
    return 0;
  if (ebitmap_set_bit(&role->dominates, role->s.value - 1, 1)) {
    fail(b, 0, "out of memory");
    return 0;
  }
  return role->s.value;
}

static uint32_t add_type(xpb_builder_t *b, const char *name, uint32_t flavor) {
  /* Type values are 16 bits in avtab keys; libsepol's expand refuses more (type_copy_callback). */
  if (b->p->p_types.nprim >= UINT16_MAX) {
    fail(b, 0, "type space overflow: a binary policy holds at most %u types and attributes", UINT16_MAX);
    return 0;
  }
  type_datum_t *type = declare(b, &b->p->p_types, name, sizeof *type, 1);
  if (type == NULL)
    return 0;
  type->flavor = flavor;
  type->primary = 1;
  return type->s.value;
}

uint32_t xpb_type(xpb_builder_t *b, const char *name) { return add_type(b, name, TYPE_TYPE); }
uint32_t xpb_attribute(xpb_builder_t *b, const char *name) { return add_type(b, name, TYPE_ATTRIB); }

int xpb_type_alias(xpb_builder_t *b, const char *alias, uint32_t type) {
  type_datum_t *datum = declare(b, &b->p->p_types, alias, sizeof *datum, 0);
  if (datum == NULL)
    return -1;
  datum->flavor = TYPE_TYPE;
  datum->s.value = type;
  return 0;
}

uint32_t xpb_bool(xpb_builder_t *b, const char *name, int state) {
  cond_bool_datum_t *datum = declare(b, &b->p->p_bools, name, sizeof *datum, 1);
  if (datum == NULL)
    return 0;
  datum->state = state ? 1 : 0;
  return datum->s.value;
}

uint32_t xpb_user(xpb_builder_t *b, const char *name) {
  user_datum_t *user = declare(b, &b->p->p_users, name, sizeof *user, 1);
  return user != NULL ? user->s.value : 0;
}

int xpb_index(xpb_builder_t *b) {
  policydb_t *p = b->p;
  if (policydb_index_classes(p) || policydb_index_others(NULL, p, 0))
    return fail(b, 0, "cannot index the policy's symbols");
  b->avtab_keys = calloc(p->p_types.nprim + 1, sizeof *b->avtab_keys);
  p->type_attr_map = calloc(p->p_types.nprim, sizeof(ebitmap_t));
  p->attr_type_map = calloc(p->p_types.nprim, sizeof(ebitmap_t));
  if (b->avtab_keys == NULL || (p->p_types.nprim != 0 && (p->type_attr_map == NULL || p->attr_type_map == NULL)))
    return fail(b, 0, "out of memory");
  for (uint32_t i = 0; i < p->p_types.nprim; i++) {
    ebitmap_init(&p->type_attr_map[i]);
    ebitmap_init(&p->attr_type_map[i]);
    if (ebitmap_set_bit(&p->type_attr_map[i], i, 1))
      return fail(b, 0, "out of memory");
    if (p->type_val_to_struct[i] != NULL && p->type_val_to_struct[i]->flavor != TYPE_ATTRIB &&
        ebitmap_set_bit(&p->attr_type_map[i], i, 1))
      return fail(b, 0, "out of memory");
  }
  return 0;
}

static int valid(uint32_t value, uint32_t nprim) { return value >= 1 && value <= nprim; }

/* A flat bit array for bits 0..<nprim (one spare word when nprim is 0), or NULL with the error set. */
static MAPTYPE *flat_words(xpb_builder_t *b, uint32_t nprim, uint32_t *nwords) {
  *nwords = (nprim + MAPSIZE - 1) / MAPSIZE;
  MAPTYPE *words = calloc(*nwords != 0 ? *nwords : 1, sizeof *words);
  if (words == NULL)
    fail(b, 0, "out of memory");
  return words;
}

/* ORs the bits of `map` into `words`. */
static void or_into_words(const ebitmap_t *map, MAPTYPE *words, uint32_t nwords) {
  for (const ebitmap_node_t *node = map->node; node != NULL; node = node->next)
    if (node->startbit / MAPSIZE < nwords)
      words[node->startbit / MAPSIZE] |= node->map;
}

/* `out` (initialised here) made from a flat bit array in one pass; frees `words`.
 * Building ebitmaps this way is linear: libsepol's ebitmap_set_bit walks the
 * list from its head and ebitmap_union copies its destination each time. */
static int words_to_ebitmap(xpb_builder_t *b, MAPTYPE *words, uint32_t nwords, ebitmap_t *out) {
  ebitmap_init(out);
  ebitmap_node_t *tail = NULL;
  for (uint32_t w = 0; w < nwords; w++) {
    if (words[w] == 0)
      continue;
    ebitmap_node_t *node = calloc(1, sizeof *node);
    if (node == NULL) {
      free(words);
      ebitmap_destroy(out);
      return fail(b, 0, "out of memory");
    }
    node->startbit = w * MAPSIZE;
    node->map = words[w];
    if (tail != NULL)
      tail->next = node;
    else
      out->node = node;
    tail = node;
    out->highbit = node->startbit + MAPSIZE;
  }
  free(words);
  return 0;
}

/* Sets bits `values[i] - 1` (each in 1...nprim) in `map`, in one pass. */
static int set_bits(xpb_builder_t *b, ebitmap_t *map, const uint32_t *values, uint32_t n, uint32_t nprim) {
  uint32_t nwords;
  MAPTYPE *words = flat_words(b, nprim, &nwords);
  if (words == NULL)
    return -1;
  or_into_words(map, words, nwords);
  for (uint32_t i = 0; i < n; i++) {
    if (!valid(values[i], nprim)) {
      free(words);
      return fail(b, 0, "bad value %u", values[i]);
    }
    words[(values[i] - 1) / MAPSIZE] |= (MAPTYPE)1 << ((values[i] - 1) % MAPSIZE);
  }
  ebitmap_destroy(map);
  return words_to_ebitmap(b, words, nwords, map);
}

int xpb_attribute_members(xpb_builder_t *b, uint32_t attribute, const uint32_t *types, uint32_t n) {
  policydb_t *p = b->p;
  if (!valid(attribute, p->p_types.nprim))
    return fail(b, 0, "bad type value");
  for (uint32_t i = 0; i < n; i++)
    if (!valid(types[i], p->p_types.nprim) || ebitmap_set_bit(&p->type_attr_map[types[i] - 1], attribute - 1, 1))
      return fail(b, 0, valid(types[i], p->p_types.nprim) ? "out of memory" : "bad type value");
  return set_bits(b, &p->attr_type_map[attribute - 1], types, n, p->p_types.nprim);
}

/* The types keys stand for, in `out` (initialised here), as one union of
 * their attr_type_map entries (`*` is every type). */
static int expand_keys(xpb_builder_t *b, const uint32_t *keys, uint32_t n, ebitmap_t *out) {
  ebitmap_init(out);
  uint32_t nwords;
  MAPTYPE *words = flat_words(b, b->p->p_types.nprim, &nwords);
  if (words == NULL)
    return -1;
  for (uint32_t i = 0; i < n; i++) {
    if (!valid(keys[i], b->p->p_types.nprim)) {
      free(words);
      return fail(b, 0, "bad type value %u", keys[i]);
    }
    or_into_words(&b->p->attr_type_map[keys[i] - 1], words, nwords);
  }
  return words_to_ebitmap(b, words, nwords, out);
}

/* The user with value `user`, or NULL (with the error set). */
static user_datum_t *user_datum(xpb_builder_t *b, uint32_t user) {
  if (valid(user, b->p->p_users.nprim))
    return b->p->user_val_to_struct[user - 1];
  fail(b, 0, "bad user value");
  return NULL;
}

int xpb_user_roles(xpb_builder_t *b, uint32_t user, const uint32_t *roles, uint32_t n) {
  policydb_t *p = b->p;
  user_datum_t *datum = user_datum(b, user);
  if (datum == NULL)
    return -1;
  for (uint32_t i = 0; i < n; i++) {
    if (roles[i] == OBJECT_R_VAL)
      continue; /* implicit for every user */
    if (!valid(roles[i], p->p_roles.nprim) || ebitmap_set_bit(&datum->roles.roles, roles[i] - 1, 1))
      return fail(b, 0, "bad role value");
  }
  return 0;
}

/* Decodes one level at `*at`; advances it. */
static int decode_level(xpb_builder_t *b, const uint32_t *enc, uint32_t n, uint32_t *at, mls_level_t *out) {
  mls_level_init(out);
  if (*at + 2 > n)
    return fail(b, 0, "truncated level");
  out->sens = enc[*at];
  uint32_t ncats = enc[*at + 1];
  *at += 2;
  if (*at + ncats > n || !valid(out->sens, b->p->p_levels.nprim))
    return fail(b, 0, "bad level");
  for (uint32_t i = 0; i < ncats; i++, (*at)++)
    if (!valid(enc[*at], b->p->p_cats.nprim) || ebitmap_set_bit(&out->cat, enc[*at] - 1, 1)) {
      ebitmap_destroy(&out->cat);
      return fail(b, 0, "bad category value");
    }
  return 0;
}

static int decode_range(xpb_builder_t *b, const uint32_t *enc, uint32_t n, uint32_t *at, mls_range_t *out) {
  if (decode_level(b, enc, n, at, &out->level[0]))
    return -1;
  if (decode_level(b, enc, n, at, &out->level[1])) {
    mls_level_destroy(&out->level[0]);
    return -1;
  }
  return 0;
}

int xpb_user_mls(xpb_builder_t *b, uint32_t user, const uint32_t *levels, uint32_t n) {
  user_datum_t *datum = user_datum(b, user);
  if (datum == NULL)
    return -1;
  uint32_t at = 0;
  mls_level_destroy(&datum->exp_dfltlevel);
  mls_range_destroy(&datum->exp_range);
  if (decode_level(b, levels, n, &at, &datum->exp_dfltlevel))
    return -1;
  return decode_range(b, levels, n, &at, &datum->exp_range);
}

int xpb_role_types(xpb_builder_t *b, uint32_t role, const uint32_t *keys, uint32_t n) {
  policydb_t *p = b->p;
  if (!valid(role, p->p_roles.nprim))
    return fail(b, 0, "bad role value");
  role_datum_t *datum = p->role_val_to_struct[role - 1];
  ebitmap_t types;
  if (expand_keys(b, keys, n, &types))
    return -1;
  int rc = ebitmap_union(&datum->types.types, &types);
  ebitmap_destroy(&types);
  return rc ? fail(b, 0, "out of memory") : 0;
}

int xpb_role_allow(xpb_builder_t *b, uint32_t from, uint32_t to) {
  role_allow_t *allow = calloc(1, sizeof *allow);
  if (allow == NULL)
    return fail(b, 0, "out of memory");
  allow->role = from;
  allow->new_role = to;
  allow->next = b->p->role_allow;
  b->p->role_allow = allow;
  return 0;
}

int xpb_permissive(xpb_builder_t *b, uint32_t type) {
  return ebitmap_set_bit(&b->p->permissive_map, type, 1) ? fail(b, 0, "out of memory") : 0;
}

int xpb_bounds(xpb_builder_t *b, uint32_t parent, uint32_t child) {
  policydb_t *p = b->p;
  if (!valid(parent, p->p_types.nprim) || !valid(child, p->p_types.nprim))
    return fail(b, 0, "bad type value");
  p->type_val_to_struct[child - 1]->bounds = parent;
  return 0;
}

int xpb_policycap(xpb_builder_t *b, const char *name) {
  int number = sepol_polcap_getnum(name);
  if (number < 0)
    return fail(b, 0, "unknown policy capability `%s`", name);
  return ebitmap_set_bit(&b->p->policycaps, (unsigned)number, 1) ? fail(b, 0, "out of memory") : 0;
}

/* ------------------------------------------------------------------ */
/* Contexts                                                             */
/* ------------------------------------------------------------------ */

/* What libsepol's policydb_role_cache makes (a role's types with attributes expanded), in
 * linear time: a role's types here are types already (expand_keys), and libsepol's
 * type_set_expand sets them one bit at a time, each walking the bitmap from its start. */
static int role_cache(hashtab_key_t key, hashtab_datum_t datum, void *arg) {
  (void)key;
  (void)arg;
  role_datum_t *role = datum;
  ebitmap_destroy(&role->cache);
  return ebitmap_cpy(&role->cache, &role->types.types);
}

static int cache_roles_and_users(xpb_builder_t *b) {
  if (b->cached)
    return 0;
  /* object_r goes with every type, as CIL and checkpolicy -C write it. */
  role_datum_t *object_r = b->p->role_val_to_struct[OBJECT_R_VAL - 1];
  uint32_t *types = calloc(b->p->p_types.nprim + 1, sizeof *types);
  if (types == NULL)
    return fail(b, 0, "out of memory");
  uint32_t ntypes = 0;
  for (uint32_t i = 0; i < b->p->p_types.nprim; i++)
    if (b->p->type_val_to_struct[i] != NULL && b->p->type_val_to_struct[i]->flavor == TYPE_TYPE)
      types[ntypes++] = i + 1;
  int rc = set_bits(b, &object_r->types.types, types, ntypes, b->p->p_types.nprim);
  free(types);
  if (rc)
    return rc;
  if (hashtab_map(b->p->p_roles.table, role_cache, b->p) ||
      hashtab_map(b->p->p_users.table, policydb_user_cache, b->p))
    return fail(b, 0, "cannot expand roles and users");
  b->cached = 1;
  return 0;
}

static int decode_context(xpb_builder_t *b, const uint32_t *enc, uint32_t n, context_struct_t *out) {
  policydb_t *p = b->p;
  context_init(out);
  if (n < 3 || !valid(enc[0], p->p_users.nprim) || !valid(enc[1], p->p_roles.nprim) ||
      !valid(enc[2], p->p_types.nprim))
    return fail(b, 0, "bad context");
  out->user = enc[0];
  out->role = enc[1];
  out->type = enc[2];
  if (p->mls) {
    uint32_t at = 3;
    if (decode_range(b, enc, n, &at, &out->range))
      return -1;
  }
  if (cache_roles_and_users(b))
    return -1;
  if (!policydb_context_isvalid(p, out)) {
    const char *user = p->p_user_val_to_name[out->user - 1];
    const char *role = p->p_role_val_to_name[out->role - 1];
    const char *type = p->p_type_val_to_name[out->type - 1];
    context_destroy(out);
    return fail(b, 0, "invalid context %s:%s:%s: the user may not take the role, the role the type, or the "
                      "range is not within the user's",
                user, role, type);
  }
  return 0;
}

static ocontext_t *append_ocontext(xpb_builder_t *b, uint32_t kind) {
  ocontext_t *c = calloc(1, sizeof *c);
  if (c == NULL)
    return NULL;
  if (b->tails[kind] != NULL)
    b->tails[kind]->next = c;
  else
    b->p->ocontexts[kind] = c;
  b->tails[kind] = c;
  return c;
}

int xpb_initial_sid(xpb_builder_t *b, uint32_t sid, const char *name, const uint32_t *context, uint32_t n) {
  context_struct_t decoded;
  if (decode_context(b, context, n, &decoded))
    return -1;
  ocontext_t *c = append_ocontext(b, OCON_XEN_ISID);
  if (c == NULL || (c->u.name = strdup(name)) == NULL) {
    context_destroy(&decoded);
    return fail(b, 0, "out of memory");
  }
  c->sid[0] = sid;
  c->context[0] = decoded;
  return 0;
}

int xpb_ocontext(xpb_builder_t *b, uint32_t kind, uint64_t low, uint64_t high, const char *path,
                 const uint32_t *context, uint32_t n) {
  if (kind < XPB_PIRQ || kind > XPB_DEVICETREE)
    return fail(b, 0, "bad ocontext kind");
  context_struct_t decoded;
  if (decode_context(b, context, n, &decoded))
    return -1;
  ocontext_t *c = append_ocontext(b, kind);
  if (c == NULL) {
    context_destroy(&decoded);
    return fail(b, 0, "out of memory");
  }
  c->context[0] = decoded;
  switch (kind) {
  case XPB_PIRQ:
    c->u.pirq = (uint32_t)low;
    break;
  case XPB_IOPORT:
    c->u.ioport.low_ioport = (uint32_t)low;
    c->u.ioport.high_ioport = (uint32_t)high;
    break;
  case XPB_IOMEM:
    c->u.iomem.low_iomem = low;
    c->u.iomem.high_iomem = high;
    break;
  case XPB_PCIDEVICE:
    c->u.device = (uint32_t)low;
    break;
  case XPB_DEVICETREE:
    if ((c->u.name = strdup(path != NULL ? path : "")) == NULL)
      return fail(b, 0, "out of memory");
    break;
  }
  return 0;
}

/* ------------------------------------------------------------------ */
/* Conditionals                                                         */
/* ------------------------------------------------------------------ */

int32_t xpb_conditional(xpb_builder_t *b, const uint32_t *expr, uint32_t n, int *swapped) {
  policydb_t *p = b->p;
  *swapped = 0;
  cond_node_t *tmp = cond_node_create(p, NULL);
  if (tmp == NULL)
    return fail(b, 0, "out of memory");
  cond_expr_t *tail = NULL;
  int depth = 0;
  for (uint32_t i = 0; i + 1 < n; i += 2) {
    cond_expr_t *e = calloc(1, sizeof *e);
    if (e == NULL)
      goto oom;
    e->expr_type = expr[i];
    e->bool = expr[i] == COND_BOOL ? expr[i + 1] : 0;
    if (tail != NULL)
      tail->next = e;
    else
      tmp->expr = e;
    tail = e;
    depth += e->expr_type == COND_BOOL ? 1 : e->expr_type == COND_NOT ? 0 : -1;
    if (depth > COND_EXPR_MAXDEPTH) {
      cond_expr_destroy(tmp->expr);
      free(tmp);
      return fail(b, 0, "the condition is nested deeper than libsepol allows (%d)", COND_EXPR_MAXDEPTH);
    }
  }
  /* As cil_binary.c: a non-NULL true list lets normalising tell a swap. */
  cond_av_list_t marker;
  tmp->true_list = &marker;
  if (cond_normalize_expr(p, tmp)) {
    cond_expr_destroy(tmp->expr);
    free(tmp);
    return fail(b, 0, "cannot normalise the condition");
  }
  if (tmp->false_list != NULL)
    *swapped = 1;
  tmp->true_list = tmp->false_list = NULL;
  int created = 0;
  cond_node_t *node = cond_node_find(p, tmp, p->cond_list, &created);
  cond_expr_destroy(tmp->expr);
  free(tmp);
  if (node == NULL)
    return fail(b, 0, "out of memory");
  if (created) {
    node->next = p->cond_list;
    p->cond_list = node;
    cond_node_t **bigger = grow(b->conds, b->nconds, sizeof *b->conds);
    if (bigger == NULL)
      return fail(b, 0, "out of memory");
    b->conds = bigger;
    b->conds[b->nconds++] = node;
    return (int32_t)(b->nconds - 1);
  }
  for (uint32_t i = 0; i < b->nconds; i++)
    if (b->conds[i] == node)
      return (int32_t)i;
  return fail(b, 0, "conditional node lost");
oom:
  cond_expr_destroy(tmp->expr);
  free(tmp);
  return fail(b, 0, "out of memory");
}

static int cond_insert(xpb_builder_t *b, avtab_key_t *key, avtab_datum_t *datum, int32_t cond, int branch) {
  avtab_ptr_t node = avtab_insert_nonunique(&b->p->te_cond_avtab, key, datum);
  cond_av_list_t *item = calloc(1, sizeof *item);
  if (node == NULL || item == NULL) {
    free(item);
    return fail(b, 0, "out of memory");
  }
  /* Conditional rules are written only when parse_context is set. */
  node->parse_context = (void *)1;
  item->node = node;
  cond_node_t *c = b->conds[cond];
  if (branch) {
    item->next = c->true_list;
    c->true_list = item;
  } else {
    item->next = c->false_list;
    c->false_list = item;
  }
  return 0;
}

static avtab_datum_t *cond_list_search(const avtab_key_t *key, cond_av_list_t *list) {
  for (; list != NULL; list = list->next)
    if (list->node->key.source_type == key->source_type && list->node->key.target_type == key->target_type &&
        list->node->key.target_class == key->target_class && (list->node->key.specified & key->specified))
      return &list->node->datum;
  return NULL;
}

/* ------------------------------------------------------------------ */
/* Rules                                                                */
/* ------------------------------------------------------------------ */

static int check_cond(xpb_builder_t *b, int32_t cond) {
  return cond >= 0 && (uint32_t)cond >= b->nconds ? fail(b, 0, "bad conditional index") : 0;
}

int xpb_neverallow(xpb_builder_t *b, uint32_t rule, const uint32_t *src, uint32_t ns, const uint32_t *tgt,
                   uint32_t nt, int self, uint32_t tclass, uint32_t perms) {
  neverallow_t *bigger = grow(b->neverallows, b->nneverallows, sizeof *b->neverallows);
  if (bigger == NULL)
    return fail(b, rule, "out of memory");
  b->neverallows = bigger;
  neverallow_t *n = &b->neverallows[b->nneverallows];
  if (expand_keys(b, src, ns, &n->stypes))
    return -1;
  if (expand_keys(b, tgt, nt, &n->ttypes)) {
    ebitmap_destroy(&n->stypes);
    return -1;
  }
  uint32_t nwords;
  n->swords = flat_words(b, b->p->p_types.nprim, &nwords);
  n->twords = flat_words(b, b->p->p_types.nprim, &nwords);
  if (n->swords == NULL || n->twords == NULL) {
    free(n->swords);
    free(n->twords);
    ebitmap_destroy(&n->stypes);
    ebitmap_destroy(&n->ttypes);
    return fail(b, rule, "out of memory");
  }
  or_into_words(&n->stypes, n->swords, nwords);
  or_into_words(&n->ttypes, n->twords, nwords);
  n->rule = rule;
  n->self = self;
  n->tclass = tclass;
  n->perms = perms;
  b->nneverallows++;
  return 0;
}

/* Whether a type of the keys is in `words` (a neverallow's set as a flat bit array). */
static int any_key_matches(xpb_builder_t *b, const uint32_t *keys, uint32_t n, const MAPTYPE *words) {
  uint32_t nwords = (b->p->p_types.nprim + MAPSIZE - 1) / MAPSIZE;
  for (uint32_t i = 0; i < n; i++)
    for (const ebitmap_node_t *node = b->p->attr_type_map[keys[i] - 1].node; node != NULL; node = node->next)
      if (node->startbit / MAPSIZE < nwords && (words[node->startbit / MAPSIZE] & node->map) != 0)
        return 1;
  return 0;
}

/* Whether three type sets share a type (`c` may be NULL). */
static int meet(const ebitmap_t *a, const ebitmap_t *x, const ebitmap_t *c) {
  ebitmap_t both;
  if (ebitmap_and(&both, a, x))
    return 0;
  int result = c == NULL ? !ebitmap_is_empty(&both) : ebitmap_match_any(&both, c);
  ebitmap_destroy(&both);
  return result;
}

static int record_violation(xpb_builder_t *b, const neverallow_t *n, uint32_t rule, uint32_t perms) {
  violation_t *bigger = grow(b->violations, b->nviolations, sizeof *b->violations);
  if (bigger == NULL)
    return fail(b, rule, "out of memory");
  b->violations = bigger;
  b->violations[b->nviolations++] = (violation_t){n->rule, rule, n->tclass, perms & n->perms};
  return 0;
}

/* An allow rule against every neverallow of its class, as libsepol's
 * check_assertion_avtab_match decides it for the rule's avtab entries. */
static int check_neverallows(xpb_builder_t *b, uint32_t rule, const uint32_t *src, uint32_t ns, const uint32_t *tgt,
                             uint32_t nt, int self, uint32_t tclass, uint32_t perms) {
  ebitmap_t sources, targets;
  int expanded = 0;
  int rc = 0;
  for (uint32_t i = 0; i < b->nneverallows && rc == 0; i++) {
    const neverallow_t *n = &b->neverallows[i];
    if (n->tclass != tclass || (n->perms & perms) == 0 || !any_key_matches(b, src, ns, n->swords))
      continue;
    int hit = 0;
    if (nt != 0 && !ebitmap_is_empty(&n->ttypes) && any_key_matches(b, tgt, nt, n->twords))
      hit = 1;
    if (!hit && (self || n->self)) {
      if (!expanded) {
        if (expand_keys(b, src, ns, &sources))
          return -1;
        if (expand_keys(b, tgt, nt, &targets)) {
          ebitmap_destroy(&sources);
          return -1;
        }
        expanded = 1;
      }
      /* allow S self against neverallow N T: some s in S, N and T. */
      if (self && !ebitmap_is_empty(&n->ttypes) && meet(&sources, &n->stypes, &n->ttypes))
        hit = 1;
      /* allow S T against neverallow N self: some s in S, T and N. */
      if (n->self && nt != 0 && meet(&sources, &targets, &n->stypes))
        hit = 1;
      /* both self: some s in S and N. */
      if (self && n->self && meet(&sources, &n->stypes, NULL))
        hit = 1;
    }
    if (hit)
      rc = record_violation(b, n, rule, perms);
  }
  if (expanded) {
    ebitmap_destroy(&sources);
    ebitmap_destroy(&targets);
  }
  return rc;
}

static int insert_av(xpb_builder_t *b, uint32_t kind, uint32_t s, uint32_t t, uint32_t tclass, uint32_t data,
                     int32_t cond, int branch) {
  avtab_key_t key = {.source_type = (uint16_t)s, .target_type = (uint16_t)t, .target_class = (uint16_t)tclass};
  key.specified = kind == XPB_ALLOW ? AVTAB_ALLOWED : kind == XPB_AUDITALLOW ? AVTAB_AUDITALLOW : AVTAB_AUDITDENY;
  avtab_datum_t datum = {.data = data};
  if (cond >= 0)
    return cond_insert(b, &key, &datum, cond, branch);
  avtab_datum_t *existing = avtab_search(&b->p->te_avtab, &key);
  if (existing == NULL)
    return avtab_insert(&b->p->te_avtab, &key, &datum) ? fail(b, 0, "out of memory") : 0;
  if (kind == XPB_DONTAUDIT)
    existing->data &= data;
  else
    existing->data |= data;
  return 0;
}

/* The avtab key for a rule's type key: an attribute of two or more types
 * stays an attribute (the kernel expands it through type_attr_map), one of
 * one type becomes that type, an empty one nothing. */
/* The avtab key for a rule's type key: an attribute of two or more types
 * stays an attribute (the kernel expands it through type_attr_map), one of
 * one type becomes that type, an empty one nothing (0). */
static uint32_t avtab_key(xpb_builder_t *b, uint32_t key) {
  if (b->avtab_keys[key] != 0)
    return b->avtab_keys[key] - 1;
  const ebitmap_t *types = &b->p->attr_type_map[key - 1];
  uint32_t count = ebitmap_cardinality(types);
  uint32_t result = count == 0 ? 0 : key;
  if (count == 1) {
    ebitmap_node_t *node;
    unsigned int bit;
    ebitmap_for_each_positive_bit(types, node, bit) {
      result = bit + 1;
      break;
    }
  }
  b->avtab_keys[key] = result + 1;
  return result;
}

int xpb_avrule(xpb_builder_t *b, uint32_t kind, uint32_t rule, const uint32_t *src, uint32_t ns,
               const uint32_t *tgt, uint32_t nt, int self, uint32_t tclass, uint32_t perms, int32_t cond,
               int branch) {
  policydb_t *p = b->p;
  if (check_cond(b, cond) || !valid(tclass, p->p_classes.nprim))
    return fail(b, rule, "bad rule");
  if (perms == 0)
    return 0;
  for (uint32_t i = 0; i < ns; i++)
    if (!valid(src[i], p->p_types.nprim))
      return fail(b, rule, "bad type value");
  for (uint32_t i = 0; i < nt; i++)
    if (!valid(tgt[i], p->p_types.nprim))
      return fail(b, rule, "bad type value");
  if (kind == XPB_ALLOW && b->nneverallows != 0 && check_neverallows(b, rule, src, ns, tgt, nt, self, tclass, perms))
    return -1;
  uint32_t data = kind == XPB_DONTAUDIT ? ~perms : perms;
  uint32_t *targets = nt != 0 ? malloc(nt * sizeof *targets) : NULL;
  if (nt != 0 && targets == NULL)
    return fail(b, rule, "out of memory");
  for (uint32_t j = 0; j < nt; j++)
    targets[j] = avtab_key(b, tgt[j]);
  int rc = 0;
  for (uint32_t i = 0; i < ns && rc == 0; i++) {
    uint32_t s = avtab_key(b, src[i]);
    if (s == 0)
      continue;
    for (uint32_t j = 0; j < nt && rc == 0; j++)
      if (targets[j] != 0)
        rc = insert_av(b, kind, s, targets[j], tclass, data, cond, branch);
    if (self && rc == 0) {
      /* self: one entry per type of the source. */
      ebitmap_node_t *node;
      unsigned int bit;
      ebitmap_for_each_positive_bit(&p->attr_type_map[src[i] - 1], node, bit) {
        if ((rc = insert_av(b, kind, bit + 1, bit + 1, tclass, data, cond, branch)) != 0)
          break;
      }
    }
  }
  free(targets);
  return rc;
}

static int insert_type_rule(xpb_builder_t *b, uint32_t kind, uint32_t rule, uint32_t s, uint32_t t, uint32_t tclass,
                            uint32_t result, int32_t cond, int branch) {
  policydb_t *p = b->p;
  avtab_key_t key = {.source_type = (uint16_t)s, .target_type = (uint16_t)t, .target_class = (uint16_t)tclass};
  key.specified = kind == XPB_TYPE_TRANSITION ? AVTAB_TRANSITION : kind == XPB_TYPE_MEMBER ? AVTAB_MEMBER : AVTAB_CHANGE;
  avtab_datum_t datum = {.data = result};
  const char *what = kind == XPB_TYPE_TRANSITION ? "type_transition" : kind == XPB_TYPE_MEMBER ? "type_member" : "type_change";
#define CONFLICT(existing)                                                                                          \
  fail(b, rule, "conflicting %s rules for %s %s:%s: %s here, %s before", what, p->p_type_val_to_name[s - 1],      \
       p->p_type_val_to_name[t - 1], p->p_class_val_to_name[tclass - 1], p->p_type_val_to_name[result - 1],       \
       p->p_type_val_to_name[(existing) - 1])
  avtab_ptr_t existing = avtab_search_node(&p->te_avtab, &key);
  if (existing != NULL)
    return existing->datum.data == result ? 0 : CONFLICT(existing->datum.data);
  if (cond < 0)
    return avtab_insert(&p->te_avtab, &key, &datum) ? fail(b, rule, "out of memory") : 0;
  existing = avtab_search_node(&p->te_cond_avtab, &key);
  if (existing != NULL) {
    cond_node_t *c = b->conds[cond];
    cond_av_list_t *this_list = branch ? c->true_list : c->false_list;
    cond_av_list_t *other_list = branch ? c->false_list : c->true_list;
    if (cond_list_search(&key, other_list) == NULL) {
      if (existing->datum.data != result)
        return CONFLICT(existing->datum.data);
      if (cond_list_search(&key, this_list) != NULL)
        return 0;
    }
  }
#undef CONFLICT
  return cond_insert(b, &key, &datum, cond, branch);
}

int xpb_typerule(xpb_builder_t *b, uint32_t kind, uint32_t rule, const uint32_t *src, uint32_t ns,
                 const uint32_t *tgt, uint32_t nt, int self, uint32_t tclass, uint32_t result, int32_t cond,
                 int branch) {
  policydb_t *p = b->p;
  if (check_cond(b, cond) || !valid(tclass, p->p_classes.nprim) || !valid(result, p->p_types.nprim))
    return fail(b, rule, "bad rule");
  ebitmap_t sources, targets;
  if (expand_keys(b, src, ns, &sources))
    return -1;
  if (expand_keys(b, tgt, nt, &targets)) {
    ebitmap_destroy(&sources);
    return -1;
  }
  int rc = 0;
  ebitmap_node_t *sn, *tn;
  unsigned int s, t;
  ebitmap_for_each_positive_bit(&sources, sn, s) {
    ebitmap_for_each_positive_bit(&targets, tn, t) {
      if ((rc = insert_type_rule(b, kind, rule, s + 1, t + 1, tclass, result, cond, branch)) != 0)
        goto done;
    }
    if (self && (rc = insert_type_rule(b, kind, rule, s + 1, s + 1, tclass, result, cond, branch)) != 0)
      goto done;
  }
done:
  ebitmap_destroy(&sources);
  ebitmap_destroy(&targets);
  return rc;
}

/* ------------------------------------------------------------------ */
/* Constraints                                                          */
/* ------------------------------------------------------------------ */

static uint32_t constraint_attr(uint32_t left, uint32_t right) {
  switch (left) {
  case XPB_OPERAND_U1: return CEXPR_USER;
  case XPB_OPERAND_U2: return CEXPR_USER | CEXPR_TARGET;
  case XPB_OPERAND_U3: return CEXPR_USER | CEXPR_XTARGET;
  case XPB_OPERAND_R1: return CEXPR_ROLE;
  case XPB_OPERAND_R2: return CEXPR_ROLE | CEXPR_TARGET;
  case XPB_OPERAND_R3: return CEXPR_ROLE | CEXPR_XTARGET;
  case XPB_OPERAND_T1: return CEXPR_TYPE;
  case XPB_OPERAND_T2: return CEXPR_TYPE | CEXPR_TARGET;
  case XPB_OPERAND_T3: return CEXPR_TYPE | CEXPR_XTARGET;
  case XPB_OPERAND_L1: return right == XPB_OPERAND_L2 ? CEXPR_L1L2 : right == XPB_OPERAND_H1 ? CEXPR_L1H1 : CEXPR_L1H2;
  case XPB_OPERAND_L2: return CEXPR_L2H2;
  case XPB_OPERAND_H1: return right == XPB_OPERAND_L2 ? CEXPR_H1L2 : CEXPR_H1H2;
  default: return 0;
  }
}

static int decode_constraint(xpb_builder_t *b, const uint32_t *enc, uint32_t n, constraint_expr_t **out) {
  constraint_expr_t *head = NULL, *tail = NULL;
  int depth = 0;
  for (uint32_t at = 0; at < n;) {
    if (at + 5 > n || at + 5 + enc[at + 4] > n)
      goto bad;
    uint32_t kind = enc[at], op = enc[at + 1], left = enc[at + 2], right = enc[at + 3], nnames = enc[at + 4];
    const uint32_t *names = &enc[at + 5];
    at += 5 + nnames;
    constraint_expr_t *e = malloc(sizeof *e);
    if (e == NULL || constraint_expr_init(e)) {
      free(e);
      goto oom;
    }
    if (tail != NULL)
      tail->next = e;
    else
      head = e;
    tail = e;
    e->expr_type = kind;
    if (kind == CEXPR_ATTR || kind == CEXPR_NAMES) {
      e->op = op;
      e->attr = constraint_attr(left, right);
      depth++;
      if (depth > CEXPR_MAXDEPTH) {
        constraint_expr_destroy(head);
        return fail(b, 0, "the constraint is nested deeper than libsepol allows (%d)", CEXPR_MAXDEPTH);
      }
    } else if (kind == CEXPR_AND || kind == CEXPR_OR) {
      depth--;
    } else if (kind != CEXPR_NOT) {
      goto bad;
    }
    if (kind != CEXPR_NAMES)
      continue;
    if (e->attr & CEXPR_TYPE) {
      for (uint32_t i = 0; i < nnames; i++) {
        if (!valid(names[i], b->p->p_types.nprim))
          goto bad;
        if (ebitmap_set_bit(&e->type_names->types, names[i] - 1, 1))
          goto oom;
      }
      if (expand_keys(b, names, nnames, &e->names)) {
        constraint_expr_destroy(head);
        return -1;
      }
    } else {
      for (uint32_t i = 0; i < nnames; i++)
        if (names[i] == 0 || ebitmap_set_bit(&e->names, names[i] - 1, 1))
          goto oom;
    }
  }
  *out = head;
  return 0;
bad:
  constraint_expr_destroy(head);
  return fail(b, 0, "malformed constraint expression");
oom:
  constraint_expr_destroy(head);
  return fail(b, 0, "out of memory");
}

int xpb_constraint(xpb_builder_t *b, int validatetrans, uint32_t tclass, uint32_t perms, const uint32_t *expr,
                   uint32_t n) {
  if (!valid(tclass, b->p->p_classes.nprim))
    return fail(b, 0, "bad class value");
  if (!validatetrans && perms == 0)
    return 0;
  constraint_node_t *node = calloc(1, sizeof *node);
  if (node == NULL)
    return fail(b, 0, "out of memory");
  if (decode_constraint(b, expr, n, &node->expr)) {
    free(node);
    return -1;
  }
  class_datum_t *class = b->p->class_val_to_struct[tclass - 1];
  node->permissions = validatetrans ? 0 : perms;
  if (validatetrans) {
    node->next = class->validatetrans;
    class->validatetrans = node;
  } else {
    node->next = class->constraints;
    class->constraints = node;
  }
  return 0;
}

/* ------------------------------------------------------------------ */
/* Finishing and writing                                                */
/* ------------------------------------------------------------------ */

uint32_t xpb_violation_count(const xpb_builder_t *b) { return b->nviolations; }

void xpb_violation(const xpb_builder_t *b, uint32_t index, uint32_t *neverallow_rule, uint32_t *rule,
                   uint32_t *tclass, uint32_t *perms) {
  const violation_t *v = &b->violations[index < b->nviolations ? index : 0];
  *neverallow_rule = v->neverallow;
  *rule = v->rule;
  *tclass = v->tclass;
  *perms = v->perms;
}

int xpb_finish(xpb_builder_t *b) {
  policydb_t *p = b->p;
  if (cache_roles_and_users(b))
    return -1;
  cond_optimize_lists(p->cond_list);
  /* As __cil_set_conditional_state_and_flags: enable the branch the
   * booleans' defaults choose. */
  for (cond_node_t *c = p->cond_list; c != NULL; c = c->next) {
    int state = cond_evaluate_expr(p, c->expr);
    c->cur_state = state;
    for (cond_av_list_t *item = c->true_list; item != NULL; item = item->next)
      if (state <= 0)
        item->node->key.specified &= ~AVTAB_ENABLED;
      else
        item->node->key.specified |= AVTAB_ENABLED;
    for (cond_av_list_t *item = c->false_list; item != NULL; item = item->next)
      if (state)
        item->node->key.specified &= ~AVTAB_ENABLED;
      else
        item->node->key.specified |= AVTAB_ENABLED;
  }
  if (bounds_check_types(b->handle, p))
    return fail(b, 0, "a type does more than the type that bounds it");
  return 0;
}

int xpb_write(xpb_builder_t *b, void **data, size_t *len) {
  if (sepol_policydb_to_image(b->handle, b->spdb, data, len))
    return fail(b, 0, "libsepol could not write the policy");
  return 0;
}
