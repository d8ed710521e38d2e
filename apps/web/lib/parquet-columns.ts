/**
 * The top-level column names of a Parquet file, read in the browser from its footer only (the
 * last bytes of the file), so the column mapping can be chosen before anything is uploaded.
 * The footer is a Thrift compact-protocol `FileMetaData`; field 2 is the flattened schema.
 */

class CompactReader {
  pos = 0;
  constructor(private readonly b: Uint8Array) {}

  byte(): number {
    if (this.pos >= this.b.length) throw new Error('Parquet footer ends early');
    return this.b[this.pos++];
  }

  varint(): number {
    let shift = 0;
    let out = 0;
    for (;;) {
      const x = this.byte();
      out += (x & 0x7f) * 2 ** shift;
      if ((x & 0x80) === 0) return out;
      shift += 7;
      if (shift > 63) throw new Error('Bad varint in Parquet footer');
    }
  }

  zigzag(): number {
    const v = this.varint();
    return v % 2 === 0 ? v / 2 : -(v + 1) / 2;
  }

  binary(): Uint8Array {
    const n = this.varint();
    if (this.pos + n > this.b.length) throw new Error('Parquet footer ends early');
    const out = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** Reads a struct, calling `field` for each field; unhandled fields are skipped. */
  struct(field: (id: number, type: number) => boolean): void {
    let last = 0;
    for (;;) {
      const h = this.byte();
      const type = h & 0x0f;
      if (type === 0) return;
      const delta = h >> 4;
      const id = delta ? last + delta : this.zigzag();
      last = id;
      if (!field(id, type)) this.skip(type);
    }
  }

  listHeader(): { size: number; type: number } {
    const h = this.byte();
    const size = h >> 4 === 15 ? this.varint() : h >> 4;
    return { size, type: h & 0x0f };
  }

  skip(type: number): void {
    switch (type) {
      case 1:
      case 2:
        return; // bool stored in the field header
      case 3:
        this.pos++;
        return;
      case 4:
      case 5:
      case 6:
        this.varint();
        return;
      case 7:
        this.pos += 8;
        return;
      case 8:
        this.binary();
        return;
      case 9:
      case 10: {
        const { size, type: t } = this.listHeader();
        for (let i = 0; i < size; i++) {
          if (t === 1 || t === 2) this.pos++;
          else this.skip(t);
        }
        return;
      }
      case 11: {
        const size = this.varint();
        if (size === 0) return;
        const kv = this.byte();
        for (let i = 0; i < size; i++) {
          this.skip(kv >> 4);
          this.skip(kv & 0x0f);
        }
        return;
      }
      case 12:
        this.struct(() => false);
        return;
      default:
        throw new Error(`Unknown Thrift type ${type} in Parquet footer`);
    }
  }
}

interface SchemaElement {
  name: string;
  children: number;
}

/** Parses a FileMetaData buffer and returns the root's direct children (the table's columns). */
export function parquetColumnsFromFooter(meta: Uint8Array): string[] {
  const r = new CompactReader(meta);
  const schema: SchemaElement[] = [];
  const decoder = new TextDecoder();
  r.struct((id, type) => {
    if (id !== 2 || type !== 9) return false;
    const { size } = r.listHeader();
    for (let i = 0; i < size; i++) {
      const el: SchemaElement = { name: '', children: 0 };
      r.struct((fid, ftype) => {
        if (fid === 4 && ftype === 8) el.name = decoder.decode(r.binary());
        else if (fid === 5 && ftype === 5) el.children = r.zigzag();
        else return false;
        return true;
      });
      schema.push(el);
    }
    return true;
  });
  if (schema.length === 0) throw new Error('No schema in the Parquet footer');
  // Walk the flattened tree: keep the root's direct children, skip each one's subtree.
  const names: string[] = [];
  let i = 1;
  const skipSubtree = (): void => {
    const el = schema[i++];
    for (let c = 0; c < (el?.children ?? 0); c++) skipSubtree();
  };
  for (let c = 0; c < schema[0].children && i < schema.length; c++) {
    names.push(schema[i].name);
    skipSubtree();
  }
  return names;
}

/** Reads a Parquet file's column names from its footer (a few KiB at the end of the file). */
export async function readParquetColumns(file: Blob): Promise<string[]> {
  if (file.size < 12) throw new Error('Too small to be a Parquet file');
  const tail = new Uint8Array(await file.slice(file.size - 8).arrayBuffer());
  if (String.fromCharCode(...tail.subarray(4)) !== 'PAR1') throw new Error('Not a Parquet file (no PAR1 footer)');
  const len = new DataView(tail.buffer, tail.byteOffset).getUint32(0, true);
  if (len <= 0 || len > file.size - 12) throw new Error('Bad Parquet footer length');
  const meta = new Uint8Array(await file.slice(file.size - 8 - len, file.size - 8).arrayBuffer());
  return parquetColumnsFromFooter(meta);
}
