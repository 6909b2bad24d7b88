/*
 * rfc2047.h - make adjacent RFC 2047 encoded-words safe for GMime
 *
 * GMime 3.2 joins adjacent base64 encoded-words of one charset before
 * decoding them, and stops at the first word's padding: the Subject
 * "=?UTF-8?B?Y2Fmw6k=?= =?UTF-8?B?IGF1IGxhaXQ=?=" reads "café", not "café au
 * lait". Mail programs split long subjects, display names and file names
 * exactly that way, so a rule on the end of one would never see it.
 *
 * rfc2047_join_words() rewrites each run of two or more adjacent
 * encoded-words (separated only by folding whitespace, which RFC 2047 6.2
 * says to drop) into one UTF-8 base64 encoded-word holding the text of the
 * run, each word decoded on its own by GMime (RFC 2047 5: every word holds
 * whole characters). Everything else is kept byte for byte, so the result
 * still goes to GMime's own header, address and parameter parsers.
 */
#ifndef RFC2047_H
#define RFC2047_H

/* rfc2047_join_words - VALUE with its encoded-word runs joined; g_free() it */
char *rfc2047_join_words(const char *value);

#endif
