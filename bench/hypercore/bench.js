// Hypercore on this machine in the shapes that `bench/run.sh data-feed` and `data-replication` measure data-service
// in (docs/benchmarks.md), after Hypercore's own bench/ scripts (write-512b-blocks, write-64kb-blocks,
// replicate-64kb-blocks): appends of 128 equal entries at a time to a fresh core until COUNT entries; then a second
// core with the first one's key downloads every entry over a replication stream piped in the same process (no
// network between them), and the time from its first request to its last verified entry is taken.
const Hypercore = require('hypercore')
const fs = require('fs')
const os = require('os')
const path = require('path')

function tmp () {
  return fs.mkdtempSync(path.join(process.env.BENCH_DIR || os.tmpdir(), 'hypercore-'))
}

function seconds (t0) {
  return Number(process.hrtime.bigint() - t0) / 1e9
}

async function append (size, count) {
  const dir = tmp()
  const core = new Hypercore(dir)
  await core.ready()
  const batch = []
  for (let i = 0; i < 128; i++) batch.push(Buffer.alloc(size, i))
  const t0 = process.hrtime.bigint()
  while (core.length < count) await core.append(batch)
  const s = seconds(t0)
  console.log(`hypercore ${require('hypercore/package.json').version} append ${size} B x 128: ${count} entries in ${s.toFixed(2)} s = ` +
    `${Math.round(count / s)} entries/s, ${(count * size / s / 1e6).toFixed(1)} MB/s, ${(s * 1000 / (count / 128)).toFixed(2)} ms a batch`)
  await core.close()
  fs.rmSync(dir, { recursive: true, force: true })
}

async function replicate (size, count) {
  const a = tmp()
  const b = tmp()
  const source = new Hypercore(a)
  await source.ready()
  const batch = []
  for (let i = 0; i < 128; i++) batch.push(Buffer.alloc(size, i))
  while (source.length < count) await source.append(batch)
  const copy = new Hypercore(b, source.key)
  await copy.ready()
  const s1 = source.replicate(true)
  const s2 = copy.replicate(false)
  s1.pipe(s2).pipe(s1)
  const t0 = process.hrtime.bigint()
  await copy.download({ start: 0, end: count }).done()
  const s = seconds(t0)
  console.log(`hypercore replicate ${size} B: ${count} entries (${(count * size / 1e6).toFixed(1)} MB) in ${s.toFixed(2)} s = ` +
    `${Math.round(count / s)} entries/s, ${(count * size / s / 1e6).toFixed(1)} MB/s`)
  await copy.close()
  await source.close()
  fs.rmSync(a, { recursive: true, force: true })
  fs.rmSync(b, { recursive: true, force: true })
}

async function main () {
  const small = Number(process.argv[2] || 102400)
  const large = Number(process.argv[3] || 4096)
  await append(512, small)
  await append(65536, large)
  await replicate(512, small)
  await replicate(65536, large)
}

main().catch((e) => { console.error(e); process.exit(1) })
