/*
 * wire.h - the milter protocol (version 6) on the wire: frames in, typed
 * commands out; replies and modifications in, bytes out
 *
 * A frame is a 4-byte big-endian length (counting the command byte), one
 * command byte and the command's data. wire_reader collects bytes as they
 * arrive, in any split, and hands out whole frames; wire_decode() turns a
 * frame into a struct wire_cmd whose every field has been checked: each
 * length against its limit before anything is allocated, each string for
 * its terminating NUL, each count of strings against its bound, the macro
 * list for name/value pairs. Anything else is a violation, reported with a
 * reason the caller logs before it ends the connection.
 *
 * The encoders (wire_put_*) append well-formed frames to a strbuf.
 *
 * No sockets, no threads, no engine: bytes in, bytes out. The conversation
 * (conv.h) gives these commands their meaning.
 *
 * Memory: a decoded command points into the frame, which lives in the reader
 * until the next wire_reader_next() call.
 */
#ifndef MILTER_WIRE_H
#define MILTER_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct strbuf;

/* The data of one frame, after the command byte. The MTAs send body chunks
 * of 65,535 bytes (Postfix 65,536); libmilter refuses anything over 65,535.
 * One byte of slack over Postfix's chunk, nothing more: a larger frame is
 * not a mail and is not buffered. */
#define WIRE_DATA_MAX 65536u
#define WIRE_ARGS_MAX 256      /* strings in MAIL/RCPT (path + ESMTP parameters) */
#define WIRE_MACROS_MAX 128    /* name/value pairs in one macro frame */
#define WIRE_MACRO_NAME_MAX 64 /* "{auth_authen}" is 13 */

/* Commands from the MTA */
#define WIRE_C_ABORT 'A'
#define WIRE_C_BODY 'B'
#define WIRE_C_CONNECT 'C'
#define WIRE_C_MACRO 'D'
#define WIRE_C_EOM 'E'
#define WIRE_C_HELO 'H'
#define WIRE_C_QUIT_NC 'K'
#define WIRE_C_HEADER 'L'
#define WIRE_C_MAIL 'M'
#define WIRE_C_EOH 'N'
#define WIRE_C_OPTNEG 'O'
#define WIRE_C_QUIT 'Q'
#define WIRE_C_RCPT 'R'
#define WIRE_C_DATA 'T'
#define WIRE_C_UNKNOWN 'U'

/* Replies and modifications to the MTA */
#define WIRE_R_ADDRCPT '+'
#define WIRE_R_DELRCPT '-'
#define WIRE_R_ADDRCPT_PAR '2'
#define WIRE_R_ACCEPT 'a'
#define WIRE_R_REPLBODY 'b'
#define WIRE_R_CONTINUE 'c'
#define WIRE_R_DISCARD 'd'
#define WIRE_R_CHGFROM 'e'
#define WIRE_R_ADDHEADER 'h'
#define WIRE_R_INSHEADER 'i'
#define WIRE_R_CHGHEADER 'm'
#define WIRE_R_PROGRESS 'p'
#define WIRE_R_QUARANTINE 'q'
#define WIRE_R_REJECT 'r'
#define WIRE_R_SKIP 's'
#define WIRE_R_TEMPFAIL 't'
#define WIRE_R_REPLYCODE 'y'

/* Actions (what the milter may do at end of message) */
#define WIRE_A_ADDHDRS 0x01u
#define WIRE_A_CHGBODY 0x02u
#define WIRE_A_ADDRCPT 0x04u
#define WIRE_A_DELRCPT 0x08u
#define WIRE_A_CHGHDRS 0x10u
#define WIRE_A_QUARANTINE 0x20u
#define WIRE_A_CHGFROM 0x40u
#define WIRE_A_ADDRCPT_PAR 0x80u
#define WIRE_A_SETSYMLIST 0x100u

/* Protocol flags: steps not sent (NO*), steps not answered (NR_*) */
#define WIRE_P_NOCONNECT 0x01u
#define WIRE_P_NOHELO 0x02u
#define WIRE_P_NOMAIL 0x04u
#define WIRE_P_NORCPT 0x08u
#define WIRE_P_NOBODY 0x10u
#define WIRE_P_NOHDRS 0x20u
#define WIRE_P_NOEOH 0x40u
#define WIRE_P_NR_HDR 0x80u
#define WIRE_P_NOUNKNOWN 0x100u
#define WIRE_P_NODATA 0x200u
#define WIRE_P_SKIP 0x400u
#define WIRE_P_RCPT_REJ 0x800u
#define WIRE_P_NR_CONN 0x1000u
#define WIRE_P_NR_HELO 0x2000u
#define WIRE_P_NR_MAIL 0x4000u
#define WIRE_P_NR_RCPT 0x8000u
#define WIRE_P_NR_DATA 0x10000u
#define WIRE_P_NR_UNKN 0x20000u
#define WIRE_P_NR_EOH 0x40000u
#define WIRE_P_NR_BODY 0x80000u
#define WIRE_P_HDR_LEADSPC 0x100000u

#define WIRE_VERSION 6

/* Macro stages, in the order of the protocol (and of the lookup, backwards) */
enum wire_stage {
	WIRE_ST_CONNECT,
	WIRE_ST_HELO,
	WIRE_ST_MAIL,
	WIRE_ST_RCPT,
	WIRE_ST_DATA,
	WIRE_ST_EOM,
	WIRE_ST_EOH,
	WIRE_ST_COUNT
};

struct wire_frame {
	char cmd;
	const unsigned char *data;
	size_t len;
};

struct wire_reader {
	unsigned char *buf; /* bytes not yet handed out as frames */
	size_t len, cap, off;
};

/* wire_reader_feed - append N bytes; false when memory ran out */
bool wire_reader_feed(struct wire_reader *r, const void *data, size_t n);
/*
 * wire_reader_next - the next whole frame in F: 1; 0 when more bytes are
 * needed; -1 when the length field is impossible (0, or data over
 * WIRE_DATA_MAX), *WHY then says so. F stays valid until the next call.
 */
int wire_reader_next(struct wire_reader *r, struct wire_frame *f, const char **why);
/* wire_reader_pending - bytes held that are not yet a whole frame */
size_t wire_reader_pending(const struct wire_reader *r);
/* wire_reader_free - release the buffer (the reader can be used again) */
void wire_reader_free(struct wire_reader *r);

enum wire_family { WIRE_FAM_UNKNOWN, WIRE_FAM_UNIX, WIRE_FAM_INET, WIRE_FAM_INET6 };

struct wire_cmd {
	char cmd;
	union {
		struct {
			uint32_t version, actions, protocol;
		} optneg;
		struct {
			enum wire_stage stage;
			bool known_stage; /* false: a stage libmilter ignores too */
			const char *pairs[WIRE_MACROS_MAX * 2];
			size_t npairs; /* name/value pairs */
		} macro;
		struct {
			const char *host;
			enum wire_family family;
			uint16_t port;
			const char *addr; /* text address or socket path; NULL for unknown */
		} connect;
		struct {
			const char *text; /* HELO argument, unknown command */
		} str;
		struct {
			const char *argv[WIRE_ARGS_MAX + 1]; /* NULL-terminated */
			size_t argc;
		} args;
		struct {
			const char *name, *value;
			size_t value_len;
		} header;
		struct {
			const unsigned char *data;
			size_t len;
		} body; /* body chunk, or the last one with end of message */
	} u;
};

/*
 * wire_decode - F as a checked command in C; false with *WHY when F breaks
 * the protocol (an unknown command, a missing NUL, an odd macro list, a bad
 * address, a count over its bound). C points into F's data.
 */
bool wire_decode(const struct wire_frame *f, struct wire_cmd *c, const char **why);
/* wire_stage_of - the stage a macro frame's command byte names; false if none */
bool wire_stage_of(char cmd, enum wire_stage *stage);

/* Encoders: each appends one whole frame to OUT (OUT->failed on OOM). */
void wire_put(struct strbuf *out, char cmd, const void *data, size_t len);
/* wire_put_optneg - the negotiation reply; LISTS (may be NULL) asks, per
 * stage, for the space-separated macros the MTA should send (SETSYMLIST) */
void wire_put_optneg(struct strbuf *out, uint32_t version, uint32_t actions, uint32_t protocol,
		     const char *const *lists);
/* wire_put_replycode - "CODE XCODE TEXT", one line or several ("550-5.7.1 a\r\n550 5.7.1 b"
 * when TEXT holds newlines); TEXT is bounded and cleaned of control characters */
void wire_put_replycode(struct strbuf *out, const char *code, const char *xcode, const char *text);
/* wire_put_header - add (INDEX < 0), insert (op 'i') or change (op 'm') a
 * header; LEAD ("" or " ") goes before VALUE: with SMFIP_HDR_LEADSPC the
 * MTA adds no space of its own */
void wire_put_header(struct strbuf *out, char op, long index, const char *name, const char *lead,
		     const char *value);
/* wire_put_strings - CMD with one or two NUL-terminated strings (B may be NULL) */
void wire_put_strings(struct strbuf *out, char cmd, const char *a, const char *b);

#endif
