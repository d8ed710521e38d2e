;; The per-character work of dataset validation, over a text copied in as UTF-16 code units:
;; the duplicate fingerprints of examples and the chunk cut + table lookups of token counting.
;; JavaScript spends ~3 ns per character on each of these (one dependent multiply per character,
;; a branch per word); here they run eight characters at a time (SIMD) or a word of four at a
;; time. Assembled to text-kernel-wasm.ts by `npm run build:text-kernel` (wabt), loaded by
;; text-kernel.ts, which documents the calling convention.
;;
;; Memory (bytes):
;;   0x000000  SHUF    256 × 16: i8x16.swizzle patterns that pack the lanes of an 8-bit mask
;;   0x001000  RESULT  fingerprint out (normalized i64, exact i64), misses and chunks (i32)
;;   0x001100  SHUF4   16 × 16: the same for four 4-byte lanes
;;   0x002000  MASK    17 × 32: for n = 0…16, the first n units of 16 set
;;   0x003000  CHAT    a parsed chat line: messages, characters; then 32 bytes per message
;;   0x010000  TABLE   chunk table, 8-byte slots (up to 2^18 and OVERFLOW spares)
;;   0x220000  REHASH  old slots while the table doubles
;;   0x330010  TEXT    loaded texts, 32 bytes apart (a call writes the unit before its text and
;;                     the 32 bytes after it), then MISS (16 bytes per chunk), ENDS (4 per chunk)
;;                     and NORM (2 per unit), each sized for the longest text
(module
  (memory (export "memory") 64)

  (global $SHUF i32 (i32.const 0x0))
  (global $SHUF4 i32 (i32.const 0x1100))
  (global $RESULT i32 (i32.const 0x1000))
  (global $MASK i32 (i32.const 0x2000))
  (global $CHAT i32 (i32.const 0x3000))
  (global $CHAT_MAX i32 (i32.const 64))
  (global $slen (mut i32) (i32.const 0))
  (global $TABLE i32 (i32.const 0x10000))
  (global $OVERFLOW i32 (i32.const 64))
  (global $REHASH i32 (i32.const 0x220000))
  (global $TEXT i32 (i32.const 0x330010))
  (global $MISS (mut i32) (i32.const 0))
  (global $ENDS (mut i32) (i32.const 0))
  (global $NORM (mut i32) (i32.const 0))

  ;; Every lane of $kN / $kxN holds N (decimal / hex): read from memory once per use, which V8 does
  ;; faster than rebuilding an inline v128.const each time round a loop.
  (global $kx80 v128 (v128.const i16x8 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80))
  (global $kx20 v128 (v128.const i16x8 0x20 0x20 0x20 0x20 0x20 0x20 0x20 0x20))
  (global $k97 v128 (v128.const i16x8 97 97 97 97 97 97 97 97))
  (global $k26 v128 (v128.const i16x8 26 26 26 26 26 26 26 26))
  (global $k48 v128 (v128.const i16x8 48 48 48 48 48 48 48 48))
  (global $k10 v128 (v128.const i16x8 10 10 10 10 10 10 10 10))
  (global $kx2000 v128 (v128.const i16x8 0x2000 0x2000 0x2000 0x2000 0x2000 0x2000 0x2000 0x2000))
  (global $kx70 v128 (v128.const i16x8 0x70 0x70 0x70 0x70 0x70 0x70 0x70 0x70))
  (global $kx3000 v128 (v128.const i16x8 0x3000 0x3000 0x3000 0x3000 0x3000 0x3000 0x3000 0x3000))
  (global $kx40 v128 (v128.const i16x8 0x40 0x40 0x40 0x40 0x40 0x40 0x40 0x40))
  (global $kxa0 v128 (v128.const i16x8 0xa0 0xa0 0xa0 0xa0 0xa0 0xa0 0xa0 0xa0))
  (global $kxfeff v128 (v128.const i16x8 0xfeff 0xfeff 0xfeff 0xfeff 0xfeff 0xfeff 0xfeff 0xfeff))
  (global $k64 v128 (v128.const i16x8 64 64 64 64 64 64 64 64))
  (global $k32 v128 (v128.const i16x8 32 32 32 32 32 32 32 32))
  (global $k40 v128 (v128.const i16x8 40 40 40 40 40 40 40 40))
  (global $k2 v128 (v128.const i16x8 2 2 2 2 2 2 2 2))
  (global $k43 v128 (v128.const i16x8 43 43 43 43 43 43 43 43))
  (global $k45 v128 (v128.const i16x8 45 45 45 45 45 45 45 45))
  (global $k9 v128 (v128.const i16x8 9 9 9 9 9 9 9 9))
  (global $k5 v128 (v128.const i16x8 5 5 5 5 5 5 5 5))
  (global $kx85 v128 (v128.const i16x8 0x85 0x85 0x85 0x85 0x85 0x85 0x85 0x85))
  (global $kx1680 v128 (v128.const i16x8 0x1680 0x1680 0x1680 0x1680 0x1680 0x1680 0x1680 0x1680))
  (global $k11 v128 (v128.const i16x8 11 11 11 11 11 11 11 11))
  (global $kx2028 v128 (v128.const i16x8 0x2028 0x2028 0x2028 0x2028 0x2028 0x2028 0x2028 0x2028))
  (global $kx202f v128 (v128.const i16x8 0x202f 0x202f 0x202f 0x202f 0x202f 0x202f 0x202f 0x202f))
  (global $kx205f v128 (v128.const i16x8 0x205f 0x205f 0x205f 0x205f 0x205f 0x205f 0x205f 0x205f))
  (global $kzero v128 (v128.const i64x2 0 0))
  (global $b34 v128 (v128.const i8x16 34 34 34 34 34 34 34 34 34 34 34 34 34 34 34 34))
  (global $b92 v128 (v128.const i8x16 92 92 92 92 92 92 92 92 92 92 92 92 92 92 92 92))
  (global $b32 v128 (v128.const i8x16 32 32 32 32 32 32 32 32 32 32 32 32 32 32 32 32))
  (global $b128 v128 (v128.const i8x16 128 128 128 128 128 128 128 128 128 128 128 128 128 128 128 128))
  (global $k33 v128 (v128.const i16x8 33 33 33 33 33 33 33 33))
  (global $k94 v128 (v128.const i16x8 94 94 94 94 94 94 94 94))
  (global $lanes0123 v128 (v128.const i32x4 0 1 2 3))
  (global $lanes4567 v128 (v128.const i32x4 4 5 6 7))
  (global $fn (mut i64) (i64.const 0))
  (global $fe (mut i64) (i64.const 0))

  (global $slots (mut i32) (i32.const 0))
  (global $shift (mut i64) (i64.const 0))
  (global $used (mut i32) (i32.const 0))
  (global $maxSlots (mut i32) (i32.const 0))

  ;; Room for texts of n units in all (grows the memory); returns where they go, or -1.
  (func (export "reserve") (param $n i32) (result i32)
    (local $end i32) (local $pages i32)
    (global.set $MISS (i32.and (i32.add (i32.add (global.get $TEXT) (i32.shl (local.get $n) (i32.const 1))) (i32.const 79)) (i32.const -16)))
    (global.set $ENDS (i32.add (global.get $MISS) (i32.shl (i32.add (local.get $n) (i32.const 1)) (i32.const 4))))
    (global.set $NORM (i32.add (global.get $ENDS) (i32.shl (i32.add (local.get $n) (i32.const 16)) (i32.const 2))))
    (local.set $end (i32.add (global.get $NORM) (i32.shl (i32.add (local.get $n) (i32.const 32)) (i32.const 1))))
    (local.set $pages (i32.sub (i32.shr_u (i32.add (local.get $end) (i32.const 0xffff)) (i32.const 16)) (memory.size)))
    (if (i32.gt_s (local.get $pages) (i32.const 0))
      (then (if (i32.lt_s (memory.grow (local.get $pages)) (i32.const 0)) (then (return (i32.const -1))))))
    (global.get $TEXT))

  (func (export "missList") (result i32) (global.get $MISS))
  (func (export "chunkList") (result i32) (global.get $ENDS))

  ;; The swizzle patterns that pack the lanes a mask selects to the front: SHUF for eight
  ;; 2-byte lanes (units), SHUF4 for four 4-byte lanes (positions).
  (start $fillTables)
  (func $fillTables
    (local $b i32)
    (call $fillPack (global.get $SHUF) (i32.const 8) (i32.const 2))
    (call $fillPack (global.get $SHUF4) (i32.const 4) (i32.const 4))
    ;; MASK: byte b of row n is set when b < 2n
    (loop $mask
      (i32.store8 (i32.add (global.get $MASK) (local.get $b))
        (select (i32.const 0xff) (i32.const 0) (i32.lt_u (i32.and (local.get $b) (i32.const 31)) (i32.shl (i32.shr_u (local.get $b) (i32.const 5)) (i32.const 1)))))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br_if $mask (i32.lt_u (local.get $b) (i32.const 544)))))
  (func $fillPack (param $at i32) (param $lanes i32) (param $width i32)
    (local $m i32) (local $o i32) (local $j i32) (local $b i32) (local $row i32)
    (loop $masks
      (local.set $row (i32.add (local.get $at) (i32.shl (local.get $m) (i32.const 4))))
      (local.set $o (i32.const 0))
      (local.set $j (i32.const 0))
      (loop $lane
        (if (i32.and (local.get $m) (i32.shl (i32.const 1) (local.get $j)))
          (then
            (local.set $b (i32.const 0))
            (loop $bytes
              (i32.store8 (i32.add (local.get $row) (local.get $o)) (i32.add (i32.mul (local.get $j) (local.get $width)) (local.get $b)))
              (local.set $o (i32.add (local.get $o) (i32.const 1)))
              (local.set $b (i32.add (local.get $b) (i32.const 1)))
              (br_if $bytes (i32.lt_u (local.get $b) (local.get $width))))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br_if $lane (i32.lt_u (local.get $j) (local.get $lanes))))
      (block $full
        (loop $pad
          (br_if $full (i32.ge_u (local.get $o) (i32.const 16)))
          (i32.store8 (i32.add (local.get $row) (local.get $o)) (i32.const 0x80))
          (local.set $o (i32.add (local.get $o) (i32.const 1)))
          (br $pad)))
      (local.set $m (i32.add (local.get $m) (i32.const 1)))
      (br_if $masks (i32.lt_u (local.get $m) (i32.shl (i32.const 1) (local.get $lanes))))))

  ;; ---------------------------------------------------------------- fingerprints
  ;; An example's normalized hash is taken over its texts with ASCII letters lower-cased, every
  ;; run of whitespace and punctuation one separator, none at either end of a text; its exact hash
  ;; over the texts as they are. A mark (role, field) goes between texts.

  (func $fpReset (export "fpReset")
    (global.set $fn (i64.const 0x243f6a8885a308d3))
    (global.set $fe (i64.const 0x13198a2e03707344)))

  (func $fpMark (export "fpMark") (param $code i32)
    (global.set $fn (i64.rotl (i64.mul (i64.xor (global.get $fn) (i64.extend_i32_u (local.get $code))) (i64.const 0x9e3779b97f4a7c15)) (i64.const 23)))
    (global.set $fe (i64.rotl (i64.mul (i64.xor (global.get $fe) (i64.extend_i32_u (local.get $code))) (i64.const 0x9e3779b97f4a7c15)) (i64.const 23))))

  ;; Hash of `units` units at `a` into h, eight units per step in two independent chains (the
  ;; 16 bytes after them must be zero).
  (func $hashUnits (param $h i64) (param $a i32) (param $units i32) (result i64)
    (local $end i32) (local $g i64)
    (local.set $end (i32.add (local.get $a) (i32.shl (local.get $units) (i32.const 1))))
    (local.set $g (i64.xor (local.get $h) (i64.const 0x6a09e667f3bcc909)))
    (block $done
      (loop $words
        (br_if $done (i32.ge_u (local.get $a) (local.get $end)))
        (local.set $h (i64.rotl (i64.mul (i64.xor (local.get $h) (i64.load (local.get $a))) (i64.const 0x9e3779b97f4a7c15)) (i64.const 27)))
        (local.set $g (i64.rotl (i64.mul (i64.xor (local.get $g) (i64.load offset=8 (local.get $a))) (i64.const 0xbf58476d1ce4e5b9)) (i64.const 31)))
        (local.set $a (i32.add (local.get $a) (i32.const 16)))
        (br $words)))
    (local.set $h (i64.xor (i64.xor (local.get $h) (i64.rotl (local.get $g) (i64.const 17))) (i64.extend_i32_u (local.get $units))))
    (i64.mul (i64.xor (local.get $h) (i64.shr_u (local.get $h) (i64.const 31))) (i64.const 0x94d049bb133111eb)))

  ;; Per lane: a letter or digit as the normalized text keeps it (ASCII letters lower-cased,
  ;; other text outside ASCII as itself), 0 for whitespace and punctuation — ASCII ones, and
  ;; U+00A0–00BF, general punctuation U+2000–206F, CJK punctuation U+3000–303F, U+FEFF.
  (func $fold (param $x v128) (result v128)
    (local $alnum v128) (local $letter v128) (local $high v128)
    (local.set $letter (v128.and
      (i16x8.lt_u (local.get $x) (global.get $kx80))
      (i16x8.lt_u (i16x8.sub (v128.or (local.get $x) (global.get $kx20)) (global.get $k97)) (global.get $k26))))
    (local.set $alnum (v128.or (local.get $letter)
      (i16x8.lt_u (i16x8.sub (local.get $x) (global.get $k48)) (global.get $k10))))
    (local.set $high (i16x8.ge_u (local.get $x) (global.get $kx80)))
    (if (v128.any_true (local.get $high))
      (then
        (local.set $alnum (v128.or (local.get $alnum)
          (v128.andnot (local.get $high)
            (v128.or
              (v128.or
                (i16x8.lt_u (i16x8.sub (local.get $x) (global.get $kx2000)) (global.get $kx70))
                (i16x8.lt_u (i16x8.sub (local.get $x) (global.get $kx3000)) (global.get $kx40)))
              (v128.or
                (i16x8.lt_u (i16x8.sub (local.get $x) (global.get $kxa0)) (global.get $kx20))
                (i16x8.eq (local.get $x) (global.get $kxfeff)))))))))
    (v128.and (local.get $alnum) (v128.or (local.get $x) (v128.and (local.get $letter) (global.get $kx20)))))

  ;; Feeds the text of len units at address text into both hashes. Returns 1 when it may hold
  ;; personal data: an '@', or ten units in a row of digits and phone punctuation (the PII
  ;; regexes run only then).
  (func $fpFeed (export "fpFeed") (param $text i32) (param $len i32) (result i32)
    (local $p i32) (local $q i32) (local $end i32) (local $out i32) (local $w v128) (local $wn v128)
    (local $m i32) (local $fx v128) (local $fl v128) (local $fa v128) (local $fh v128) (local $at v128) (local $k i32) (local $run i32) (local $lead i32) (local $flag i32) (local $u i32)
    (local.set $end (i32.add (local.get $text) (i32.shl (local.get $len) (i32.const 1))))
    (v128.store (local.get $end) (global.get $kzero))
    (v128.store offset=16 (local.get $end) (global.get $kzero))
    (global.set $fe (call $hashUnits (global.get $fe) (local.get $text) (local.get $len)))
    (local.set $out (global.get $NORM))
    (local.set $p (local.get $text))
    ;; leading separators are not part of the normalized text
    (block $found
      (loop $skip
        (br_if $found (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $m (i16x8.bitmask (i16x8.ne (call $fold (v128.load (local.get $p))) (global.get $kzero))))
        (if (local.get $m) (then (local.set $p (i32.add (local.get $p) (i32.shl (i32.ctz (local.get $m)) (i32.const 1)))) (br $found)))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (br $skip)))
    ;; The PII pre-check runs along: the leading separators one by one (there rarely are any),
    ;; then eight units at a time with the rest.
    (local.set $q (local.get $text))
    (block $prefixed
      (loop $prefix
        (br_if $prefixed (i32.ge_u (local.get $q) (select (local.get $p) (local.get $end) (i32.lt_u (local.get $p) (local.get $end)))))
        (local.set $u (i32.load16_u (local.get $q)))
        (local.set $flag (i32.or (local.get $flag) (i32.eq (local.get $u) (i32.const 64))))
        (local.set $run (select (i32.add (local.get $run) (i32.const 1)) (i32.const 0)
          (i32.or (i32.or (i32.eq (local.get $u) (i32.const 32)) (i32.lt_u (i32.sub (local.get $u) (i32.const 40)) (i32.const 2)))
                  (i32.or (i32.eq (local.get $u) (i32.const 43)) (i32.lt_u (i32.sub (local.get $u) (i32.const 45)) (i32.const 2))))))
        (local.set $flag (i32.or (local.get $flag) (i32.gt_u (local.get $run) (i32.const 9))))
        (local.set $q (i32.add (local.get $q) (i32.const 2)))
        (br $prefix)))
    (block $done
      (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
      (local.set $wn (call $fold (v128.load (local.get $p))))
      (loop $l
        (local.set $w (local.get $wn))
        (local.set $fx (v128.load offset=16 (local.get $p)))
        (local.set $fl (v128.and
      (i16x8.lt_u (local.get $fx) (global.get $kx80))
      (i16x8.lt_u (i16x8.sub (v128.or (local.get $fx) (global.get $kx20)) (global.get $k97)) (global.get $k26))))
    (local.set $fa (v128.or (local.get $fl)
      (i16x8.lt_u (i16x8.sub (local.get $fx) (global.get $k48)) (global.get $k10))))
    (local.set $fh (i16x8.ge_u (local.get $fx) (global.get $kx80)))
    (if (v128.any_true (local.get $fh))
      (then
        (local.set $fa (v128.or (local.get $fa)
          (v128.andnot (local.get $fh)
            (v128.or
              (v128.or
                (i16x8.lt_u (i16x8.sub (local.get $fx) (global.get $kx2000)) (global.get $kx70))
                (i16x8.lt_u (i16x8.sub (local.get $fx) (global.get $kx3000)) (global.get $kx40)))
              (v128.or
                (i16x8.lt_u (i16x8.sub (local.get $fx) (global.get $kxa0)) (global.get $kx20))
                (i16x8.eq (local.get $fx) (global.get $kxfeff)))))))))
        (local.set $wn (v128.and (local.get $fa) (v128.or (local.get $fx) (v128.and (local.get $fl) (global.get $kx20)))))
        ;; a lane is kept if it is a letter or digit, or the last separator before one
        (local.set $m (i16x8.bitmask (v128.or
          (i16x8.ne (local.get $w) (global.get $kzero))
          (i16x8.ne (i8x16.shuffle 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 (local.get $w) (local.get $wn)) (global.get $kzero)))))
        (v128.store (local.get $out) (i8x16.swizzle (local.get $w) (v128.load (i32.shl (local.get $m) (i32.const 4)))))
        (local.set $out (i32.add (local.get $out) (i32.shl (i32.popcnt (local.get $m)) (i32.const 1))))
        (local.set $at (v128.load (local.get $p)))
        (local.set $flag (i32.or (local.get $flag) (v128.any_true (i16x8.eq (local.get $at) (global.get $k64)))))
        (local.set $k (i16x8.bitmask (v128.or
          (v128.or
            (i16x8.lt_u (i16x8.sub (local.get $at) (global.get $k48)) (global.get $k10))
            (i16x8.eq (local.get $at) (global.get $k32)))
          (v128.or
            (i16x8.lt_u (i16x8.sub (local.get $at) (global.get $k40)) (global.get $k2))
            (v128.or
              (i16x8.eq (local.get $at) (global.get $k43))
              (i16x8.lt_u (i16x8.sub (local.get $at) (global.get $k45)) (global.get $k2)))))))
        (local.set $lead (i32.ctz (i32.xor (local.get $k) (i32.const 0x1ff))))
        (local.set $flag (i32.or (local.get $flag) (i32.gt_u (i32.add (local.get $run) (local.get $lead)) (i32.const 9))))
        (local.set $run (select
          (i32.add (local.get $run) (i32.const 8))
          (i32.clz (i32.shl (i32.xor (local.get $k) (i32.const 0xff)) (i32.const 24)))
          (i32.eq (local.get $k) (i32.const 0xff))))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (br_if $l (i32.lt_u (local.get $p) (local.get $end)))))
    (local.set $flag (i32.or (local.get $flag) (i32.gt_u (local.get $run) (i32.const 9))))
    (v128.store (local.get $out) (global.get $kzero))
    (global.set $fn (call $hashUnits (global.get $fn) (global.get $NORM) (i32.shr_u (i32.sub (local.get $out) (global.get $NORM)) (i32.const 1))))
    (local.get $flag))

  ;; Writes the normalized and the exact hash (i64 each) to RESULT and returns RESULT.
  (func (export "fpFinish") (result i32)
    (i64.store (global.get $RESULT) (global.get $fn))
    (i64.store offset=8 (global.get $RESULT) (global.get $fe))
    (global.get $RESULT))

  ;; ---------------------------------------------------------------- token counting by chunks
  ;; A text is cut before every space that follows a non-space (a boundary of the LFM2 split
  ;; regex's pieces; see tokens.ts); each chunk's count comes from the table. A slot is one i64:
  ;; the top 48 bits of the chunk's 64-bit hash, its length (bits 8–15) and its token count (bits
  ;; 0–7); 0 is empty. The home slot is the hash's top bits, so the table can double from its
  ;; slots alone. Probing never wraps: it runs on into OVERFLOW spare slots, the last always empty.

  (func (export "tableInit") (param $startSlots i32) (param $max i32)
    (global.set $slots (local.get $startSlots))
    (global.set $shift (i64.extend_i32_u (i32.sub (i32.const 64) (i32.ctz (local.get $startSlots)))))
    (global.set $maxSlots (local.get $max))
    (global.set $used (i32.const 0))
    (memory.fill (global.get $TABLE) (i32.const 0) (i32.shl (i32.add (local.get $max) (global.get $OVERFLOW)) (i32.const 3))))

  (func (export "tableSlots") (result i32) (global.get $slots))

  ;; Whitespace (\r and \n included) as either regex engine sees \s: Unicode White_Space (the
  ;; Rust tokenizers the trainer uses) and JavaScript's \s, which adds U+FEFF and leaves out
  ;; U+0085. A unit that is whitespace to either is never cut after: not cutting is always exact.
  ;; The ASCII ones (\t \n \v \f \r and space) are tested inline; this is the rest.
  (func $isSpaceBeyondAscii (param $x v128) (result v128)
    (v128.or
      (v128.or
        (v128.or (i16x8.eq (local.get $x) (global.get $kx85))
                 (i16x8.eq (local.get $x) (global.get $kxa0)))
        (v128.or (i16x8.eq (local.get $x) (global.get $kx1680))
                 (i16x8.lt_u (i16x8.sub (local.get $x) (global.get $kx2000)) (global.get $k11))))
      (v128.or
        (v128.or (i16x8.lt_u (i16x8.sub (local.get $x) (global.get $kx2028)) (global.get $k2))
                 (i16x8.eq (local.get $x) (global.get $kx202f)))
        (v128.or (i16x8.eq (local.get $x) (global.get $kx205f))
          (v128.or (i16x8.eq (local.get $x) (global.get $kx3000))
                   (i16x8.eq (local.get $x) (global.get $kxfeff)))))))

  ;; Tokens of the chunks of the text of len units at address text that the table knows. The others (and chunks longer
  ;; than chunkMax) are listed at MISS as (start i32, end i32, hash i64); their number goes to
  ;; RESULT+16, the number of chunks (their ends at ENDS) to RESULT+20.
  (func (export "count") (param $text i32) (param $len i32) (param $chunkMax i32) (result i32)
    (local $p i32) (local $end i32) (local $idx i32) (local $e i32) (local $np i32) (local $m i32)
    (local $v v128) (local $before v128) (local $ws v128) (local $pos v128) (local $j i32) (local $start i32) (local $stop i32) (local $l i32) (local $a i32)
    (local $h i64) (local $key i64) (local $v0 i64) (local $v1 i64) (local $hit0 i32) (local $t i32) (local $n i32) (local $mp i32)
    (local $x0 v128) (local $x1 v128) (local $mk i32)
    (i32.store offset=16 (global.get $RESULT) (i32.const 0))
    (if (i32.eqz (local.get $len)) (then (return (i32.const 0))))
    (i32.store16 (i32.sub (local.get $text) (i32.const 2)) (i32.const 32))
    (local.set $end (i32.add (local.get $text) (i32.shl (local.get $len) (i32.const 1))))
    (v128.store (local.get $end) (global.get $kzero))
    ;; 1. cut positions, eight units at a time: the lanes that are cuts are packed to the front
    ;;    and stored whole, so no branch depends on where the cuts are
    (local.set $p (local.get $text))
    (local.set $e (global.get $ENDS))
    (loop $vectors
      (local.set $v (i16x8.eq (v128.load (local.get $p)) (global.get $k32)))
      ;; the unit before each lane
      (local.set $before (v128.load (i32.sub (local.get $p) (i32.const 2))))
      (local.set $ws (v128.or
        (i16x8.lt_u (i16x8.sub (local.get $before) (global.get $k9)) (global.get $k5))
        (i16x8.eq (local.get $before) (global.get $k32))))
      (if (v128.any_true (i16x8.ge_u (local.get $before) (global.get $kx80)))
        (then (local.set $ws (v128.or (local.get $ws) (call $isSpaceBeyondAscii (local.get $before))))))
      (local.set $m (i16x8.bitmask (v128.andnot (local.get $v) (local.get $ws))))
      (local.set $pos (i32x4.splat (local.get $idx)))
      (v128.store (local.get $e) (i8x16.swizzle (i32x4.add (local.get $pos) (global.get $lanes0123))
        (v128.load (i32.add (global.get $SHUF4) (i32.shl (i32.and (local.get $m) (i32.const 15)) (i32.const 4))))))
      (local.set $e (i32.add (local.get $e) (i32.shl (i32.popcnt (i32.and (local.get $m) (i32.const 15))) (i32.const 2))))
      (v128.store (local.get $e) (i8x16.swizzle (i32x4.add (local.get $pos) (global.get $lanes4567))
        (v128.load (i32.add (global.get $SHUF4) (i32.shl (i32.shr_u (local.get $m) (i32.const 4)) (i32.const 4))))))
      (local.set $e (i32.add (local.get $e) (i32.shl (i32.popcnt (i32.shr_u (local.get $m) (i32.const 4))) (i32.const 2))))
      (local.set $p (i32.add (local.get $p) (i32.const 16)))
      (local.set $idx (i32.add (local.get $idx) (i32.const 8)))
      (br_if $vectors (i32.lt_u (local.get $p) (local.get $end))))
    (i32.store (local.get $e) (local.get $len))
    (local.set $np (i32.add (i32.shr_u (i32.sub (local.get $e) (global.get $ENDS)) (i32.const 2)) (i32.const 1)))
    ;; 2. each chunk: hash, then its first two slots at once (almost every chunk ends there)
    (local.set $mp (global.get $MISS))
    (loop $chunks
      (local.set $stop (i32.load (i32.add (global.get $ENDS) (i32.shl (local.get $j) (i32.const 2)))))
      (local.set $l (i32.sub (local.get $stop) (local.get $start)))
      (local.set $h (i64.const 0))
      (block $known
        (block $miss
          (br_if $miss (i32.gt_u (local.get $l) (local.get $chunkMax)))
          (local.set $a (i32.add (local.get $text) (i32.shl (local.get $start) (i32.const 1))))
          (if (i32.le_u (local.get $l) (i32.const 16))
            (then
              ;; most chunks: four words masked to the chunk's length, no loop
              (local.set $mk (i32.add (global.get $MASK) (i32.shl (local.get $l) (i32.const 5))))
              (local.set $x0 (v128.and (v128.load (local.get $a)) (v128.load (local.get $mk))))
              (local.set $x1 (v128.and (v128.load offset=16 (local.get $a)) (v128.load offset=16 (local.get $mk))))
              (local.set $h (i64.xor
                (i64.xor
                  (i64.mul (i64x2.extract_lane 0 (local.get $x0)) (i64.const 0x9e3779b97f4a7c15))
                  (i64.rotl (i64.mul (i64x2.extract_lane 1 (local.get $x0)) (i64.const 0xbf58476d1ce4e5b9)) (i64.const 32)))
                (i64.xor
                  (i64.rotl (i64.mul (i64x2.extract_lane 0 (local.get $x1)) (i64.const 0xd6e8feb86659fd93)) (i64.const 16))
                  (i64.xor
                    (i64.rotl (i64.mul (i64x2.extract_lane 1 (local.get $x1)) (i64.const 0xa0761d6478bd642f)) (i64.const 48))
                    (i64.extend_i32_u (local.get $l))))))
              (local.set $h (i64.mul (i64.xor (local.get $h) (i64.shr_u (local.get $h) (i64.const 29))) (i64.const 0x94d049bb133111eb)))
              (local.set $h (i64.xor (local.get $h) (i64.shr_u (local.get $h) (i64.const 32)))))
            (else
              ;; longer chunks: whole words, then the last one masked (it may reach into the next chunk)
              (local.set $h (call $hashChunk (local.get $a) (local.get $l)))))
          (local.set $key (i64.or (i64.and (local.get $h) (i64.const -65536)) (i64.extend_i32_u (i32.shl (local.get $l) (i32.const 8)))))
          (local.set $t (i32.add (global.get $TABLE) (i32.shl (i32.wrap_i64 (i64.shr_u (local.get $h) (global.get $shift))) (i32.const 3))))
          (local.set $v0 (i64.load (local.get $t)))
          (local.set $v1 (i64.load offset=8 (local.get $t)))
          (local.set $hit0 (i64.lt_u (i64.xor (local.get $v0) (local.get $key)) (i64.const 256)))
          (if (i32.or (local.get $hit0) (i64.lt_u (i64.xor (local.get $v1) (local.get $key)) (i64.const 256)))
            (then
              (local.set $n (i32.add (local.get $n) (i32.and (i32.wrap_i64 (select (local.get $v0) (local.get $v1) (local.get $hit0))) (i32.const 255))))
              (br $known)))
          (br_if $miss (i32.or (i64.eqz (local.get $v0)) (i64.eqz (local.get $v1))))
          ;; a longer run of taken slots: on, one by one, to the first empty one
          (loop $probe
            (local.set $t (i32.add (local.get $t) (i32.const 8)))
            (local.set $v1 (i64.load offset=8 (local.get $t)))
            (if (i64.lt_u (i64.xor (local.get $v1) (local.get $key)) (i64.const 256))
              (then
                (local.set $n (i32.add (local.get $n) (i32.and (i32.wrap_i64 (local.get $v1)) (i32.const 255))))
                (br $known)))
            (br_if $probe (i64.ne (local.get $v1) (i64.const 0)))))
        (i32.store (local.get $mp) (local.get $start))
        (i32.store offset=4 (local.get $mp) (local.get $stop))
        (i64.store offset=8 (local.get $mp) (local.get $h))
        (local.set $mp (i32.add (local.get $mp) (i32.const 16))))
      (local.set $start (local.get $stop))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br_if $chunks (i32.lt_u (local.get $j) (local.get $np))))
    (i32.store offset=16 (global.get $RESULT) (i32.shr_u (i32.sub (local.get $mp) (global.get $MISS)) (i32.const 4)))
    (i32.store offset=20 (global.get $RESULT) (local.get $np))
    (local.get $n))

  (func $hashChunk (param $a i32) (param $l i32) (result i64)
    (local $h i64)
    (local.set $h (i64.mul (i64.extend_i32_u (local.get $l)) (i64.const 0x9e3779b97f4a7c15)))
    (block $tail
      (loop $words
        (br_if $tail (i32.lt_u (local.get $l) (i32.const 4)))
        (local.set $h (i64.rotl (i64.mul (i64.xor (local.get $h) (i64.load (local.get $a))) (i64.const 0xbf58476d1ce4e5b9)) (i64.const 31)))
        (local.set $a (i32.add (local.get $a) (i32.const 8)))
        (local.set $l (i32.sub (local.get $l) (i32.const 4)))
        (br $words)))
    (if (local.get $l)
      (then (local.set $h (i64.mul
        (i64.xor (local.get $h) (i64.and (i64.load (local.get $a)) (i64.sub (i64.shl (i64.const 1) (i64.extend_i32_u (i32.shl (local.get $l) (i32.const 4)))) (i64.const 1))))
        (i64.const 0xbf58476d1ce4e5b9)))))
    (local.set $h (i64.mul (i64.xor (local.get $h) (i64.shr_u (local.get $h) (i64.const 32))) (i64.const 0x94d049bb133111eb)))
    (i64.xor (local.get $h) (i64.shr_u (local.get $h) (i64.const 29))))

  ;; Puts a slot value in the first free slot from its home; dropped (not kept) past the spare
  ;; slots, whose last stays empty.
  (func $insert (param $v i64)
    (local $t i32) (local $last i32)
    (local.set $t (i32.add (global.get $TABLE) (i32.shl (i32.wrap_i64 (i64.shr_u (local.get $v) (global.get $shift))) (i32.const 3))))
    (local.set $last (i32.add (global.get $TABLE) (i32.shl (i32.sub (i32.add (global.get $slots) (global.get $OVERFLOW)) (i32.const 1)) (i32.const 3))))
    (block $free
      (loop $probe
        (br_if $free (i64.eqz (i64.load (local.get $t))))
        (local.set $t (i32.add (local.get $t) (i32.const 8)))
        (br $probe)))
    (if (i32.lt_u (local.get $t) (local.get $last))
      (then
        (i64.store (local.get $t) (local.get $v))
        (global.set $used (i32.add (global.get $used) (i32.const 1))))))

  ;; Keeps the count of miss k (1–255 tokens; others are not kept). The table starts small (stays
  ;; in cache while few chunks are known) and doubles once half full, up to maxSlots; that full,
  ;; it starts over when three quarters full.
  (func (export "remember") (param $k i32) (param $count i32)
    (local $slots i32) (local $o i32) (local $end i32) (local $mp i32) (local $v i64)
    (if (i32.gt_u (i32.sub (local.get $count) (i32.const 1)) (i32.const 254)) (then (return)))
    (local.set $slots (global.get $slots))
    (if (i32.gt_u (i32.shl (i32.add (global.get $used) (i32.const 1)) (i32.const 1)) (local.get $slots))
      (then
        (if (i32.lt_u (local.get $slots) (global.get $maxSlots))
          (then
            (local.set $end (i32.shl (i32.add (local.get $slots) (global.get $OVERFLOW)) (i32.const 3)))
            (memory.copy (global.get $REHASH) (global.get $TABLE) (local.get $end))
            (memory.fill (global.get $TABLE) (i32.const 0) (i32.shl (i32.add (i32.shl (local.get $slots) (i32.const 1)) (global.get $OVERFLOW)) (i32.const 3)))
            (global.set $slots (i32.shl (local.get $slots) (i32.const 1)))
            (global.set $shift (i64.sub (global.get $shift) (i64.const 1)))
            (global.set $used (i32.const 0))
            (local.set $o (global.get $REHASH))
            (local.set $end (i32.add (global.get $REHASH) (local.get $end)))
            (loop $rehash
              (local.set $v (i64.load (local.get $o)))
              (if (i64.ne (local.get $v) (i64.const 0)) (then (call $insert (local.get $v))))
              (local.set $o (i32.add (local.get $o) (i32.const 8)))
              (br_if $rehash (i32.lt_u (local.get $o) (local.get $end)))))
          (else
            (if (i32.gt_u (i32.shl (i32.add (global.get $used) (i32.const 1)) (i32.const 2)) (i32.mul (local.get $slots) (i32.const 3)))
              (then
                (memory.fill (global.get $TABLE) (i32.const 0) (i32.shl (i32.add (local.get $slots) (global.get $OVERFLOW)) (i32.const 3)))
                (global.set $used (i32.const 0))))))))
    (local.set $mp (i32.add (global.get $MISS) (i32.shl (local.get $k) (i32.const 4))))
    (call $insert (i64.or
      (i64.and (i64.load offset=8 (local.get $mp)) (i64.const -65536))
      (i64.extend_i32_u (i32.or
        (i32.shl (i32.sub (i32.load offset=4 (local.get $mp)) (i32.load (local.get $mp))) (i32.const 8))
        (local.get $count))))))

  ;; ---------------------------------------------------------------- chat lines
  ;; The common chat JSONL line parsed from its UTF-8 bytes, without JSON.parse and without a
  ;; JavaScript object or string per message: {"messages": [{"role": …, "content": …,
  ;; "weight": 0|1}, …]} with system/user/assistant roles and a non-blank content, ending with a
  ;; learnable assistant turn. Its contents are written out as UTF-16 (escapes decoded) and
  ;; fingerprinted as ingest.ts does. Anything else — another key, a tool turn, a name, an
  ;; escape the parser does not take, an error of any kind — returns 0, and the line goes to
  ;; JSON.parse and the full checks: this parser only ever says "valid, and here is what it holds".

  ;; The first byte at or after p that is not JSON whitespace.
  (func $ws (param $p i32) (result i32)
    (local $c i32)
    (loop $l
      (local.set $c (i32.load8_u (local.get $p)))
      (if (i32.or (i32.or (i32.eq (local.get $c) (i32.const 32)) (i32.eq (local.get $c) (i32.const 9)))
                  (i32.or (i32.eq (local.get $c) (i32.const 10)) (i32.eq (local.get $c) (i32.const 13))))
        (then
          (local.set $p (i32.add (local.get $p) (i32.const 1)))
          (br $l))))
    (local.get $p))

  ;; The value of the four hex digits at p, or -1.
  (func $hex4 (param $p i32) (result i32)
    (local $i i32) (local $c i32) (local $v i32)
    (loop $l
      (local.set $c (i32.load8_u (i32.add (local.get $p) (local.get $i))))
      (if (i32.lt_u (i32.sub (local.get $c) (i32.const 48)) (i32.const 10))
        (then (local.set $c (i32.sub (local.get $c) (i32.const 48))))
        (else
          (local.set $c (i32.sub (i32.or (local.get $c) (i32.const 32)) (i32.const 87)))
          (if (i32.or (i32.lt_s (local.get $c) (i32.const 10)) (i32.gt_s (local.get $c) (i32.const 15))) (then (return (i32.const -1))))))
      (local.set $v (i32.or (i32.shl (local.get $v) (i32.const 4)) (local.get $c)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 4))))
    (local.get $v))

  ;; A JSON string's body from p (just after its opening quote) written as UTF-16 units at q,
  ;; sixteen bytes at a time while they need nothing done. Returns the byte after the closing
  ;; quote (its length in units goes to $slen), or 0 for what JSON.parse should judge: a control
  ;; character (the line's end is one), an escape other than the JSON ones, a lone surrogate.
  ;; The bytes are valid UTF-8 (checked before).
  (func $string (param $p i32) (param $q i32) (result i32)
    (local $q0 i32) (local $v v128) (local $m i32) (local $c i32) (local $u i32) (local $lo i32)
    (local.set $q0 (local.get $q))
    (loop $chars
      (local.set $v (v128.load (local.get $p)))
      (v128.store (local.get $q) (i16x8.extend_low_i8x16_u (local.get $v)))
      (v128.store offset=16 (local.get $q) (i16x8.extend_high_i8x16_u (local.get $v)))
      (local.set $m (i8x16.bitmask (v128.or
        (v128.or (i8x16.eq (local.get $v) (global.get $b34)) (i8x16.eq (local.get $v) (global.get $b92)))
        (v128.or (i8x16.lt_u (local.get $v) (global.get $b32)) (i8x16.ge_u (local.get $v) (global.get $b128))))))
      (if (i32.eqz (local.get $m))
        (then
          (local.set $p (i32.add (local.get $p) (i32.const 16)))
          (local.set $q (i32.add (local.get $q) (i32.const 32)))
          (br $chars)))
      (local.set $m (i32.ctz (local.get $m)))
      (local.set $p (i32.add (local.get $p) (local.get $m)))
      (local.set $q (i32.add (local.get $q) (i32.shl (local.get $m) (i32.const 1))))
      (local.set $c (i32.load8_u (local.get $p)))
      (if (i32.eq (local.get $c) (i32.const 34))
        (then
          (global.set $slen (i32.shr_u (i32.sub (local.get $q) (local.get $q0)) (i32.const 1)))
          (return (i32.add (local.get $p) (i32.const 1)))))
      (if (i32.lt_u (local.get $c) (i32.const 32)) (then (return (i32.const 0))))
      (if (i32.eq (local.get $c) (i32.const 92))
        (then
          (local.set $c (i32.load8_u offset=1 (local.get $p)))
          (local.set $p (i32.add (local.get $p) (i32.const 2)))
          (block $simple
            (local.set $u (i32.const 34)) (br_if $simple (i32.eq (local.get $c) (i32.const 34)))
            (local.set $u (i32.const 92)) (br_if $simple (i32.eq (local.get $c) (i32.const 92)))
            (local.set $u (i32.const 47)) (br_if $simple (i32.eq (local.get $c) (i32.const 47)))
            (local.set $u (i32.const 10)) (br_if $simple (i32.eq (local.get $c) (i32.const 110)))
            (local.set $u (i32.const 9)) (br_if $simple (i32.eq (local.get $c) (i32.const 116)))
            (local.set $u (i32.const 13)) (br_if $simple (i32.eq (local.get $c) (i32.const 114)))
            (local.set $u (i32.const 8)) (br_if $simple (i32.eq (local.get $c) (i32.const 98)))
            (local.set $u (i32.const 12)) (br_if $simple (i32.eq (local.get $c) (i32.const 102)))
            (if (i32.ne (local.get $c) (i32.const 117)) (then (return (i32.const 0))))
            (local.set $u (call $hex4 (local.get $p)))
            (if (i32.lt_s (local.get $u) (i32.const 0)) (then (return (i32.const 0))))
            (local.set $p (i32.add (local.get $p) (i32.const 4)))
            (if (i32.eq (i32.and (local.get $u) (i32.const 0xfc00)) (i32.const 0xdc00)) (then (return (i32.const 0))))
            (br_if $simple (i32.ne (i32.and (local.get $u) (i32.const 0xfc00)) (i32.const 0xd800)))
            ;; a high surrogate: only with its low half as the next escape
            (if (i32.ne (i32.load16_u (local.get $p)) (i32.const 0x755c)) (then (return (i32.const 0))))
            (local.set $lo (call $hex4 (i32.add (local.get $p) (i32.const 2))))
            (if (i32.ne (i32.and (local.get $lo) (i32.const 0xfc00)) (i32.const 0xdc00)) (then (return (i32.const 0))))
            (i32.store16 (local.get $q) (local.get $u))
            (local.set $q (i32.add (local.get $q) (i32.const 2)))
            (local.set $u (local.get $lo))
            (local.set $p (i32.add (local.get $p) (i32.const 6))))
          (i32.store16 (local.get $q) (local.get $u))
          (local.set $q (i32.add (local.get $q) (i32.const 2)))
          (br $chars)))
      ;; UTF-8 beyond ASCII
      (if (i32.lt_u (local.get $c) (i32.const 0xe0))
        (then
          (i32.store16 (local.get $q) (i32.or
            (i32.shl (i32.and (local.get $c) (i32.const 0x1f)) (i32.const 6))
            (i32.and (i32.load8_u offset=1 (local.get $p)) (i32.const 0x3f))))
          (local.set $p (i32.add (local.get $p) (i32.const 2)))
          (local.set $q (i32.add (local.get $q) (i32.const 2))))
        (else
          (if (i32.lt_u (local.get $c) (i32.const 0xf0))
            (then
              (i32.store16 (local.get $q) (i32.or
                (i32.or
                  (i32.shl (i32.and (local.get $c) (i32.const 0x0f)) (i32.const 12))
                  (i32.shl (i32.and (i32.load8_u offset=1 (local.get $p)) (i32.const 0x3f)) (i32.const 6)))
                (i32.and (i32.load8_u offset=2 (local.get $p)) (i32.const 0x3f))))
              (local.set $p (i32.add (local.get $p) (i32.const 3)))
              (local.set $q (i32.add (local.get $q) (i32.const 2))))
            (else
              (local.set $u (i32.sub
                (i32.or
                  (i32.or
                    (i32.shl (i32.and (local.get $c) (i32.const 0x07)) (i32.const 18))
                    (i32.shl (i32.and (i32.load8_u offset=1 (local.get $p)) (i32.const 0x3f)) (i32.const 12)))
                  (i32.or
                    (i32.shl (i32.and (i32.load8_u offset=2 (local.get $p)) (i32.const 0x3f)) (i32.const 6))
                    (i32.and (i32.load8_u offset=3 (local.get $p)) (i32.const 0x3f))))
                (i32.const 0x10000)))
              (i32.store16 (local.get $q) (i32.or (i32.const 0xd800) (i32.shr_u (local.get $u) (i32.const 10))))
              (i32.store16 offset=2 (local.get $q) (i32.or (i32.const 0xdc00) (i32.and (local.get $u) (i32.const 0x3ff))))
              (local.set $p (i32.add (local.get $p) (i32.const 4)))
              (local.set $q (i32.add (local.get $q) (i32.const 4)))))))
      (br $chars))
    (i32.const 0))

  ;; Of a text (followed by at least 16 zero bytes): bit 0 when it has a printable ASCII
  ;; character (so it is not blank), bit 1 when it has the unit `lead`.
  (func $textFlags (param $at i32) (param $len i32) (param $lead i32) (result i32)
    (local $end i32) (local $x v128) (local $vis v128) (local $has v128) (local $l v128)
    (local.set $end (i32.add (local.get $at) (i32.shl (local.get $len) (i32.const 1))))
    (local.set $l (i16x8.splat (local.get $lead)))
    (loop $v
      (local.set $x (v128.load (local.get $at)))
      (local.set $vis (v128.or (local.get $vis) (i16x8.lt_u (i16x8.sub (local.get $x) (global.get $k33)) (global.get $k94))))
      (local.set $has (v128.or (local.get $has) (i16x8.eq (local.get $x) (local.get $l))))
      (local.set $at (i32.add (local.get $at) (i32.const 16)))
      (br_if $v (i32.lt_u (local.get $at) (local.get $end))))
    (i32.or (v128.any_true (local.get $vis)) (i32.shl (v128.any_true (local.get $has)) (i32.const 1))))

  ;; Parses the line of len bytes at `line` (followed by 16 spare bytes), its contents going to
  ;; `out` (room for 2·len + 48 bytes per message). Returns the number of messages, or 0 (see
  ;; above). Per message i, at CHAT + 64 + 32·i: role code (system 1, user 2, assistant 3; +8
  ;; with weight 0), content address, length in units, flags (bit 0 may hold personal data,
  ;; bit 1 holds `lead`), first unit, last unit. CHAT + 4: the contents' units together.
  (func (export "chat") (param $line i32) (param $len i32) (param $out i32) (param $lead i32) (result i32)
    (local $p i32) (local $end i32) (local $n i32) (local $q i32) (local $c i32) (local $seen i32) (local $role i32)
    (local $weight i32) (local $at i32) (local $tlen i32) (local $rec i32) (local $learn i32) (local $chars i32) (local $flags i32)
    (local.set $end (i32.add (local.get $line) (local.get $len)))
    (i32.store8 (local.get $end) (i32.const 0))
    (local.set $p (call $ws (local.get $line)))
    (if (i32.ne (i32.load8_u (local.get $p)) (i32.const 123)) (then (return (i32.const 0))))
    (local.set $p (call $ws (i32.add (local.get $p) (i32.const 1))))
    ;; "messages"
    (if (i32.or (i64.ne (i64.load (local.get $p)) (i64.const 0x6567617373656d22)) (i32.ne (i32.load16_u offset=8 (local.get $p)) (i32.const 0x2273)))
      (then (return (i32.const 0))))
    (local.set $p (call $ws (i32.add (local.get $p) (i32.const 10))))
    (if (i32.ne (i32.load8_u (local.get $p)) (i32.const 58)) (then (return (i32.const 0))))
    (local.set $p (call $ws (i32.add (local.get $p) (i32.const 1))))
    (if (i32.ne (i32.load8_u (local.get $p)) (i32.const 91)) (then (return (i32.const 0))))
    (local.set $p (call $ws (i32.add (local.get $p) (i32.const 1))))
    (local.set $q (local.get $out))
    (call $fpReset)
    (loop $messages
      (if (i32.ge_u (local.get $n) (global.get $CHAT_MAX)) (then (return (i32.const 0))))
      (if (i32.ne (i32.load8_u (local.get $p)) (i32.const 123)) (then (return (i32.const 0))))
      (local.set $p (call $ws (i32.add (local.get $p) (i32.const 1))))
      (local.set $seen (i32.const 0))
      (local.set $weight (i32.const -1))
      (loop $keys
        (if (i32.ne (i32.load8_u (local.get $p)) (i32.const 34)) (then (return (i32.const 0))))
        (block $value
          ;; "role": system, user or assistant, written plainly
          (if (i32.and (i32.eq (i32.load offset=1 (local.get $p)) (i32.const 0x656c6f72)) (i32.eq (i32.load8_u offset=5 (local.get $p)) (i32.const 34)))
            (then
              (if (i32.and (local.get $seen) (i32.const 1)) (then (return (i32.const 0))))
              (local.set $seen (i32.or (local.get $seen) (i32.const 1)))
              (local.set $p (call $ws (i32.add (local.get $p) (i32.const 6))))
              (if (i32.ne (i32.load8_u (local.get $p)) (i32.const 58)) (then (return (i32.const 0))))
              (local.set $p (call $ws (i32.add (local.get $p) (i32.const 1))))
              (if (i32.ne (i32.load8_u (local.get $p)) (i32.const 34)) (then (return (i32.const 0))))
              (if (i64.eq (i64.and (i64.load offset=1 (local.get $p)) (i64.const 0x00ffffffffffffff)) (i64.const 0x00226d6574737973))
                (then
                  (local.set $role (i32.const 1))
                  (local.set $p (i32.add (local.get $p) (i32.const 8)))
                  (br $value)))
              (if (i32.and (i32.eq (i32.load offset=1 (local.get $p)) (i32.const 0x72657375)) (i32.eq (i32.load8_u offset=5 (local.get $p)) (i32.const 34)))
                (then
                  (local.set $role (i32.const 2))
                  (local.set $p (i32.add (local.get $p) (i32.const 6)))
                  (br $value)))
              (if (i32.and (i64.eq (i64.load offset=1 (local.get $p)) (i64.const 0x6e61747369737361)) (i32.eq (i32.load16_u offset=9 (local.get $p)) (i32.const 0x2274)))
                (then
                  (local.set $role (i32.const 3))
                  (local.set $p (i32.add (local.get $p) (i32.const 11)))
                  (br $value)))
              (return (i32.const 0))))
          ;; "content": a string
          (if (i64.eq (i64.load offset=1 (local.get $p)) (i64.const 0x22746e65746e6f63))
            (then
              (if (i32.and (local.get $seen) (i32.const 2)) (then (return (i32.const 0))))
              (local.set $seen (i32.or (local.get $seen) (i32.const 2)))
              (local.set $p (call $ws (i32.add (local.get $p) (i32.const 9))))
              (if (i32.ne (i32.load8_u (local.get $p)) (i32.const 58)) (then (return (i32.const 0))))
              (local.set $p (call $ws (i32.add (local.get $p) (i32.const 1))))
              (if (i32.ne (i32.load8_u (local.get $p)) (i32.const 34)) (then (return (i32.const 0))))
              (local.set $at (local.get $q))
              (local.set $p (call $string (i32.add (local.get $p) (i32.const 1)) (local.get $q)))
              (if (i32.eqz (local.get $p)) (then (return (i32.const 0))))
              (local.set $tlen (global.get $slen))
              (br $value)))
          ;; "weight": 0 or 1
          (if (i32.and
                (i32.and (i32.eq (i32.load offset=1 (local.get $p)) (i32.const 0x67696577)) (i32.eq (i32.load16_u offset=5 (local.get $p)) (i32.const 0x7468)))
                (i32.eq (i32.load8_u offset=7 (local.get $p)) (i32.const 34)))
            (then
              (if (i32.and (local.get $seen) (i32.const 4)) (then (return (i32.const 0))))
              (local.set $seen (i32.or (local.get $seen) (i32.const 4)))
              (local.set $p (call $ws (i32.add (local.get $p) (i32.const 8))))
              (if (i32.ne (i32.load8_u (local.get $p)) (i32.const 58)) (then (return (i32.const 0))))
              (local.set $p (call $ws (i32.add (local.get $p) (i32.const 1))))
              (local.set $weight (i32.sub (i32.load8_u (local.get $p)) (i32.const 48)))
              (if (i32.gt_u (local.get $weight) (i32.const 1)) (then (return (i32.const 0))))
              (local.set $p (i32.add (local.get $p) (i32.const 1)))
              (br $value)))
          (return (i32.const 0)))
        ;; after a value: the next key, or the end of the message
        (local.set $p (call $ws (local.get $p)))
        (local.set $c (i32.load8_u (local.get $p)))
        (local.set $p (call $ws (i32.add (local.get $p) (i32.const 1))))
        (br_if $keys (i32.eq (local.get $c) (i32.const 44)))
        (if (i32.ne (local.get $c) (i32.const 125)) (then (return (i32.const 0)))))
      (if (i32.ne (i32.and (local.get $seen) (i32.const 3)) (i32.const 3)) (then (return (i32.const 0))))
      (if (i32.and (i32.ge_s (local.get $weight) (i32.const 0)) (i32.ne (local.get $role) (i32.const 3))) (then (return (i32.const 0))))
      ;; fingerprinted as ingest.ts does: a mark (the role's first letter, +1000 with weight 0), the text
      (call $fpMark (i32.add
        (select (i32.const 115) (select (i32.const 117) (i32.const 97) (i32.eq (local.get $role) (i32.const 2))) (i32.eq (local.get $role) (i32.const 1)))
        (select (i32.const 1000) (i32.const 0) (i32.eqz (local.get $weight)))))
      (local.set $flags (call $fpFeed (local.get $at) (local.get $tlen)))
      (local.set $c (call $textFlags (local.get $at) (local.get $tlen) (local.get $lead)))
      (if (i32.eqz (i32.and (local.get $c) (i32.const 1))) (then (return (i32.const 0))))
      (local.set $rec (i32.add (i32.add (global.get $CHAT) (i32.const 64)) (i32.shl (local.get $n) (i32.const 5))))
      (i32.store (local.get $rec) (i32.add (local.get $role) (select (i32.const 8) (i32.const 0) (i32.eqz (local.get $weight)))))
      (i32.store offset=4 (local.get $rec) (local.get $at))
      (i32.store offset=8 (local.get $rec) (local.get $tlen))
      (i32.store offset=12 (local.get $rec) (i32.or (local.get $flags) (i32.and (local.get $c) (i32.const 2))))
      (i32.store offset=16 (local.get $rec) (i32.load16_u (local.get $at)))
      (i32.store offset=20 (local.get $rec) (i32.load16_u (i32.sub (i32.add (local.get $at) (i32.shl (local.get $tlen) (i32.const 1))) (i32.const 2))))
      (if (i32.and (i32.eq (local.get $role) (i32.const 3)) (i32.ne (local.get $weight) (i32.const 0)))
        (then (local.set $learn (i32.add (local.get $learn) (i32.const 1)))))
      (local.set $chars (i32.add (local.get $chars) (local.get $tlen)))
      ;; the next text 32 bytes on (the scans write there), 16-byte aligned
      (local.set $q (i32.and (i32.add (i32.add (local.get $at) (i32.shl (local.get $tlen) (i32.const 1))) (i32.const 47)) (i32.const -16)))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (local.set $p (call $ws (local.get $p)))
      (local.set $c (i32.load8_u (local.get $p)))
      (local.set $p (call $ws (i32.add (local.get $p) (i32.const 1))))
      (br_if $messages (i32.eq (local.get $c) (i32.const 44)))
      (if (i32.ne (local.get $c) (i32.const 93)) (then (return (i32.const 0)))))
    (if (i32.ne (i32.load8_u (local.get $p)) (i32.const 125)) (then (return (i32.const 0))))
    (if (i32.ne (call $ws (i32.add (local.get $p) (i32.const 1))) (local.get $end)) (then (return (i32.const 0))))
    ;; the checks a valid conversation passes: something to learn, and the assistant last
    (if (i32.or (i32.eqz (local.get $learn)) (i32.ne (local.get $role) (i32.const 3))) (then (return (i32.const 0))))
    (i32.store (global.get $CHAT) (local.get $n))
    (i32.store offset=4 (global.get $CHAT) (local.get $chars))
    (local.get $n))
)
