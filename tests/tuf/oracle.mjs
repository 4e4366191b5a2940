// The independent oracle for stele's repositories: the TUF reference client for JavaScript
// (tuf-js) runs its own client workflow over a repository directory, from a trusted root,
// and downloads one target. Files are read from disk through a tuf-js Fetcher, so every
// check (root chain, signatures, thresholds, versions, expiry, hashes, lengths) is tuf-js's.
//
// usage: node oracle.mjs REPO TRUSTED_ROOT.json WORKDIR [TARGET]
// prints "refresh ok", then for TARGET "target NAME LENGTH SHA256 CUSTOM-JSON"; exit 1 and
// the error's class and message when tuf-js refuses.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';

const require = createRequire(process.env.TUF_JS_DIR + '/');
const { Updater, BaseFetcher } = require('tuf-js');
const { DownloadHTTPError } = require('tuf-js/dist/error');

class FileFetcher extends BaseFetcher {
	async fetch(url) {
		const file = decodeURIComponent(new URL(url).pathname);
		if (!fs.existsSync(file))
			throw new DownloadHTTPError(`${url}: not found`, 404);
		return fs.createReadStream(file);
	}
}

const [repo, root, work, target] = process.argv.slice(2);
const metadataDir = path.join(work, 'metadata');
const targetDir = path.join(work, 'targets');
fs.mkdirSync(metadataDir, { recursive: true });
fs.mkdirSync(targetDir, { recursive: true });
if (!fs.existsSync(path.join(metadataDir, 'root.json')))
	fs.copyFileSync(root, path.join(metadataDir, 'root.json'));
const base = 'file://' + path.resolve(repo);
const updater = new Updater({
	metadataDir, targetDir,
	metadataBaseUrl: base,
	targetBaseUrl: base + '/targets',
	fetcher: new FileFetcher(),
});
try {
	await updater.refresh();
	console.log('refresh ok');
	if (target) {
		const info = await updater.getTargetInfo(target);
		if (!info)
			throw new Error(`no target ${target}`);
		const file = await updater.downloadTarget(info, path.join(targetDir, target));
		const sha = crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
		console.log(`target ${target} ${info.length} ${sha} ${JSON.stringify(info.custom)}`);
	}
} catch (err) {
	console.log(`refused: ${err.constructor.name}: ${err.message}`);
	process.exit(1);
}
