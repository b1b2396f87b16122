// electron-builder afterPack hook: flip Electron's fuses on the packed binary, before it is
// signed or wrapped into an AppImage/deb. Fuses are compiled-in switches an attacker with
// write access to the environment (not the binary) cannot turn back on.
const path = require('node:path');
const { flipFuses, FuseVersion, FuseV1Options } = require('@electron/fuses');

/** The fuse settings of every packaged build (unit-tested). */
const FUSES = {
  version: FuseVersion.V1,
  // ELECTRON_RUN_AS_NODE would turn the signed app into a general Node interpreter.
  [FuseV1Options.RunAsNode]: false,
  // Cookies (web mode's session cookie, if ever opened in the app) encrypted at rest.
  [FuseV1Options.EnableCookieEncryption]: true,
  // NODE_OPTIONS / --inspect would let the environment inject code into the main process.
  [FuseV1Options.EnableNodeOptionsEnvironmentVariable]: false,
  [FuseV1Options.EnableNodeCliInspectArguments]: false,
  // Only the packed, integrity-checked app.asar is loaded.
  [FuseV1Options.EnableEmbeddedAsarIntegrityValidation]: true,
  [FuseV1Options.OnlyLoadAppFromAsar]: true,
  // The app is served from app://, never file://.
  [FuseV1Options.GrantFileProtocolExtraPrivileges]: false,
};

function electronBinaryIn(context) {
  const name = context.packager.appInfo.productFilename;
  const platform = context.electronPlatformName;
  if (platform === 'darwin') return path.join(context.appOutDir, `${name}.app`);
  if (platform === 'win32') return path.join(context.appOutDir, `${name}.exe`);
  return path.join(context.appOutDir, context.packager.executableName);
}

async function afterPack(context) {
  await flipFuses(electronBinaryIn(context), { ...FUSES, resetAdHocDarwinSignature: context.electronPlatformName === 'darwin' });
}

module.exports = afterPack;
module.exports.default = afterPack;
module.exports.FUSES = FUSES;
