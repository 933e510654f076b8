/* CASTY_API: what libcasty.so exports.
 *
 * The library is built with every symbol hidden, so that its internals
 * (`casty__` functions shared between the files of lib/) stay out of the
 * shared object's symbol table and cannot be bound to by accident. Every
 * public function is declared with CASTY_API in front, which gives it
 * default visibility; the definitions in lib/ take their visibility from
 * these declarations. For a program that uses the library, the macro only
 * restates the default. With a compiler that knows no visibility attribute
 * it expands to nothing. */
#ifndef CASTY_API_H
#define CASTY_API_H

#if defined(__GNUC__)
#define CASTY_API __attribute__((visibility("default")))
#else
#define CASTY_API
#endif

#endif
