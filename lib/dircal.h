/*
 * lib/dircal.h: the "calendars" section of the directory (internal).
 *
 * lib/directory.c holds one haven__calendars per directory and calls in
 * here to read it from the JSON source or from the protobuf body of a
 * signed directory, to write it back out, and to look an area or a school
 * up. Both readers fill the same structs and then run one validation, which
 * also puts everything in canonical order (dates ascending, terms by first
 * day, areas and schools by id), so a source signed and decoded again
 * prints the same JSON, and two sources that differ only in order sign to
 * the same body. See haven/directory.h for the format, limits and messages.
 */
#ifndef HAVEN_LIB_DIRCAL_H
#define HAVEN_LIB_DIRCAL_H

#include <jansson.h>

#include "haven.pb-c.h"
#include "haven/calendar.h"

#define HAVEN__CAL_MAX_BANK 512
#define HAVEN__CAL_MAX_AREAS 64
#define HAVEN__CAL_MAX_TERMS 64
#define HAVEN__CAL_MAX_AREA_CLOSED 256
#define HAVEN__CAL_MAX_SCHOOLS 4096
#define HAVEN__CAL_MAX_SCHOOL_CLOSED 64

typedef struct haven__cal_area {
	char id[HAVEN_ID_MAX];
	size_t idx;         /* position in the document read (messages) */
	haven_term *terms;  /* sorted by first day, disjoint */
	size_t n_terms;
	int64_t *closed;    /* sorted, unique */
	size_t n_closed;
} haven__cal_area;

typedef struct haven__cal_school {
	char id[HAVEN_ID_MAX];
	size_t idx;
	int64_t *closed;    /* sorted, unique */
	size_t n_closed;
} haven__cal_school;

/* All-zero is a valid, empty section. */
typedef struct haven__calendars {
	int64_t *bank;      /* sorted, unique */
	size_t n_bank;
	haven__cal_area *areas; /* sorted by id, ids unique */
	size_t n_areas;
	haven__cal_school *schools; /* sorted by id, ids unique */
	size_t n_schools;
} haven__calendars;

/** Free everything and zero `c` (NULL-tolerant). */
void haven__cal_release(haven__calendars *c);

/** True if the section has no bank holiday, area or school entry. */
bool haven__cal_empty(const haven__calendars *c);

/**
 * Read the JSON "calendars" object `o` (NULL: empty section) into `c`
 * (which must be all-zero), validated and in canonical order. On error `c`
 * is released and `err` names the field ("calendars.areas[0].terms[2].
 * first: not a date (YYYY-MM-DD)").
 * @return HAVEN_OK, HAVEN_EINVAL, HAVEN_ENOMEM.
 */
HAVEN_NODISCARD haven_err haven__cal_from_json(const json_t *o,
    haven__calendars *c, char *err, size_t errlen);

/** The section as a new JSON object (every list present, canonical
 * order); HAVEN_ENOMEM. */
HAVEN_NODISCARD haven_err haven__cal_to_json(const haven__calendars *c,
    json_t **out);

/** As haven__cal_from_json for the protobuf form (`pc` NULL: empty), with
 * the same validation and messages. */
HAVEN_NODISCARD haven_err haven__cal_from_pb(const Haven__Calendars *pc,
    haven__calendars *c, char *err, size_t errlen);

/* Protobuf view of a section, pointing into its own buffers; `msg` is
 * valid until haven__cal_pb_free. */
typedef struct haven__cal_pb {
	Haven__Calendars msg;
	char (*dates)[11];
	char **datep;
	Haven__CalendarArea *areas;
	Haven__CalendarArea **areap;
	Haven__Term *terms;
	Haven__Term **termp;
	Haven__SchoolClosures *schools;
	Haven__SchoolClosures **schoolp;
} haven__cal_pb;

/** Fill `p` from `c` (names point into `c`: keep it alive). */
HAVEN_NODISCARD haven_err haven__cal_pb_fill(haven__cal_pb *p,
    const haven__calendars *c);
void haven__cal_pb_free(haven__cal_pb *p);

/** Lookups by id (bisection); NULL if absent. */
const haven__cal_area *haven__cal_area_find(const haven__calendars *c,
    const char *id);
const haven__cal_school *haven__cal_school_find(const haven__calendars *c,
    const char *id);

/** "HH:MM", 00:00-23:59, exactly five bytes: minutes after midnight. */
bool haven__cal_hhmm(const char *s, int *minute);

/**
 * Validate one area object on its own, as an entry of calendars.areas
 * would be (havenctl checks an --area file with it). `where` prefixes the
 * messages ("" for none: "terms[2].first: not a date (YYYY-MM-DD)").
 * @return HAVEN_OK, HAVEN_EINVAL, HAVEN_ENOMEM.
 */
HAVEN_NODISCARD haven_err haven__cal_area_check_json(const json_t *o,
    const char *where, char *err, size_t errlen);

#endif /* HAVEN_LIB_DIRCAL_H */
