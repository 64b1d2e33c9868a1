/** The twelve districts of the default city, with a short code for node ids and an approximate centre. */
export const DISTRICTS = [
  { name: 'Lixia', code: 'LX', lat: 36.666, lon: 117.076 },
  { name: 'Shizhong', code: 'SZ', lat: 36.651, lon: 116.997 },
  { name: 'Huaiyin', code: 'HY', lat: 36.651, lon: 116.901 },
  { name: 'Tianqiao', code: 'TQ', lat: 36.693, lon: 116.987 },
  { name: 'Licheng', code: 'LC', lat: 36.68, lon: 117.065 + 0.13 },
  { name: 'Changqing', code: 'CQ', lat: 36.553, lon: 116.752 },
  { name: 'Zhangqiu', code: 'ZQ', lat: 36.714, lon: 117.527 },
  { name: 'Jiyang', code: 'JY', lat: 36.978, lon: 117.174 },
  { name: 'Laiwu', code: 'LW', lat: 36.213, lon: 117.661 },
  { name: 'Gangcheng', code: 'GC', lat: 36.059, lon: 117.811 },
  { name: 'Pingyin', code: 'PY', lat: 36.289, lon: 116.456 },
  { name: 'Shanghe', code: 'SH', lat: 37.31, lon: 117.157 },
] as const;

export type DistrictName = (typeof DISTRICTS)[number]['name'];
